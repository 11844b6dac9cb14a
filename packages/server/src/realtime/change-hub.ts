import type { AnySyncConfig, PushedPage, ResolvedGroup } from '@carburetor/core';
import { type Kysely, sql } from 'kysely';
import { type ContextValues, checkContext } from '../download/download.ts';
import { burstReporter } from '../driver/burst-reporter.ts';
import { CarburetorServerError } from '../errors.ts';
import { ChangeAnnouncer } from './change-announcer.ts';
import type { ChangeBus } from './change-bus.ts';
import { changeMessageOrigin, decodeChangeMessage, type TableChange } from './change-message.ts';
import { ListenSession } from './listen-session.ts';
import { pairedBus } from './paired-bus.ts';
import { PokeCoalescer } from './poke-coalescer.ts';
import { createPostgresChangeBus, type ListenTarget } from './postgres-bus.ts';
import { PushPages, scopeOf } from './push-pages.ts';
import { type Watch, WatchIndex } from './watch-index.ts';

/**
 * What a subscriber is told: these tables of its group changed, and, for a
 * subscriber that takes pushes, the pages of those the hub could push (a
 * table without a page is to be downloaded).
 */
export interface ChangePoke {
  /** Table keys (config keys, not SQL names) of the group. */
  readonly tables: readonly string[];
  /** Pushed pages by table key. */
  readonly pages?: Readonly<Record<string, PushedPage>>;
  /** Server time the pages were read at (ms since the epoch). */
  readonly serverTime?: number;
  /**
   * The primary's WAL position, read after the change was heard, when a
   * table is to be downloaded: the download's `after`, so that a standby
   * serves it only once it has replayed the change.
   */
  readonly lsn?: string;
}

/** Options of {@link ChangeHub.subscribe}. */
export interface SubscribeOptions {
  /**
   * Send the changed rows with the pokes (pages computed once per group and
   * scope, on `db`). Needs a hub with `db` and `pushes` not false.
   */
  readonly pushes?: boolean;
  /**
   * Tell the primary's WAL position with every poke (`lsn`; one read of
   * `db` per change window, shared by every subscriber that asks). The
   * router asks for protocol 2+ subscribers when it reads downloads from
   * standbys (`readDb`). Needs a hub with `db`.
   */
  readonly lsn?: boolean;
}

/** Options of {@link createChangeHub}. */
export interface ChangeHubOptions {
  /**
   * The database, a Kysely made by `createPgKysely`, `createPgliteKysely` or
   * their dialects: the LISTEN connection is opened like its pool (same
   * options, one extra connection), or on its PGlite.
   */
  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  db?: Kysely<any>;
  /**
   * Where to LISTEN instead: a connection string or `pg` client config (for a
   * Kysely built some other way, or to go around a connection pooler in
   * transaction mode, which cannot hold a LISTEN), or a PGlite instance.
   */
  listen?: ListenTarget;
  /**
   * The bus that carries uploads' changes between server instances.
   * Default: the PostgreSQL bus on `db` / `listen` (LISTEN/NOTIFY, no extra
   * service); or `createRedisChangeBus({ url })`. With another bus, the hub
   * still LISTENs on PostgreSQL where `db` / `listen` says (writes from
   * outside Carburetor are announced there only, by the notify triggers).
   */
  bus?: ChangeBus;
  /**
   * The coalescing window, in ms: a poke goes out at once when none went out
   * in the last window, else when the window ends, merged with what came
   * meanwhile, so a burst makes about one poke per window ("at once" waits
   * for this process's uploads under way, see {@link ChangeHub.uploadStarted}).
   * The uploads' announcements on the bus are coalesced the same way.
   * Default 50.
   */
  coalesceMs?: number;
  /**
   * Backoff after the bus subscription broke (reconnecting) or a message
   * failed to send (sending again): first delay and cap, in ms. Default
   * 100 and 5,000.
   */
  retryDelayMs?: { readonly initial?: number; readonly max?: number };
  /** How long the bus subscription stays open once the last subscriber left, in ms. Default 10,000. */
  idleTimeoutMs?: number;
  /**
   * Push the changed rows to subscribers that take them (protocol 2+
   * clients), read once per group and scope on `db` (the primary), instead
   * of only poking them to download. Needs `db`. Default true when `db` is
   * given; false: pokes only, each subscriber downloads.
   */
  pushes?: boolean;
  /** Hears connection trouble (the hub keeps retrying). Default: `console.warn`, once per burst. */
  onError?: (error: unknown) => void;
}

/** One subscription: its listener and its watches in the index. */
interface Subscriber {
  readonly listener: (poke: ChangePoke) => void;
  readonly group: ResolvedGroup;
  readonly values: ContextValues;
  readonly pushes: boolean;
  readonly lsn: boolean;
  watches: readonly Watch<Subscriber>[];
  /** Its pushes, one after another: pokes reach it in order. */
  sending: Promise<void>;
}

/**
 * Realtime for one process: announces what this process's uploads changed
 * on the change bus (after commit, one message per `coalesceMs` window),
 * and fans what the bus carries (every instance's announcements, and the
 * notify triggers' messages for writes from outside Carburetor) out to
 * subscribers in this process, over ONE bus subscription (opened on the
 * first subscriber, closed a while after the last one left). This
 * process's own uploads reach its subscribers at once, without the bus
 * round trip; their messages carry the hub's id, and the bus's echo of them
 * is skipped. A subscriber names a sync group and its context
 * values, and hears of every statement that wrote rows of the group's tables
 * in its scope: with its restriction values, and, for a filtered group, in
 * the filter or leaving it (or too many values to list). So a poke tells a
 * subscriber nothing of rows it may not see. Pokes are coalesced: at
 * most one per `coalesceMs` window, the first at once, so a burst makes a
 * few pokes per subscriber, each naming every table changed meanwhile.
 *
 * A broken bus subscription is noticed (the client's error/end events, TCP
 * keep-alive) and reopened with exponential backoff; once it is back, every
 * subscriber is poked about all its tables, since changes may have been
 * missed meanwhile (the download cursor makes a spurious poke harmless).
 *
 * Create it with {@link createChangeHub}; share one per process and config
 * between routers (`createSyncRouter(config, { changes: hub })`).
 */
export class ChangeHub {
  readonly config: AnySyncConfig;
  readonly #onError: (error: unknown) => void;
  readonly #subscribers = new Set<Subscriber>();
  readonly #index = new WatchIndex<Subscriber>();
  readonly #coalescer: PokeCoalescer<Subscriber>;
  readonly #session: ListenSession;
  readonly #bus: ChangeBus;
  readonly #announcer: ChangeAnnouncer;
  readonly #pushes: PushPages | undefined;
  /** Subscribers per (group, scope) that take pushes: a scope's chains go with its last one. */
  readonly #pushScopes = new Map<string, number>();
  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  readonly #db: Kysely<any> | undefined;
  /** This hub's id in its messages: it hears its own announcements at once, not from the bus. */
  readonly #origin = crypto.randomUUID();
  /** The WAL position read under way, shared by the pokes of one window. */
  #walRead: Promise<string> | undefined;
  /** This process's uploads under way, by start order (see {@link uploadStarted}). */
  readonly #uploading = new Set<number>();
  #uploadsStarted = 0;
  /** A held poke waits for the uploads started before this number. */
  #holdingFor: number | undefined;

  /** @internal Use {@link createChangeHub}. */
  constructor(config: AnySyncConfig, bus: ChangeBus, options: ChangeHubOptions = {}) {
    this.config = config;
    this.#bus = bus;
    // By default one warning per burst: each reconnect attempt fails while PostgreSQL is away.
    this.#onError =
      options.onError ??
      burstReporter((error, skipped) => {
        const more = skipped > 0 ? ` (${skipped} more failures since the last warning)` : '';
        console.warn(
          `Carburetor: the change bus for realtime failed${more}; retrying. ${String(error)}`,
        );
      });
    const coalesceMs = options.coalesceMs ?? 50;
    const retry = {
      initial: options.retryDelayMs?.initial ?? 100,
      max: options.retryDelayMs?.max ?? 5_000,
    };
    this.#announcer = new ChangeAnnouncer({
      windowMs: coalesceMs,
      retry,
      publish: (message) => bus.publish(message),
      maxMessageBytes: bus.maxMessageBytes,
      report: (error) => this.#report(error),
      origin: this.#origin,
    });
    this.#db = options.db;
    this.#pushes =
      options.db !== undefined && options.pushes !== false
        ? new PushPages(options.db, config)
        : undefined;
    this.#coalescer = new PokeCoalescer(
      coalesceMs,
      (subscriber, tables) => this.#send(subscriber, tables),
      () => this.#holdForUploads(),
    );
    this.#session = new ListenSession(
      (handlers) => bus.subscribe(handlers),
      {
        retryInitial: retry.initial,
        retryMax: retry.max,
        idleTimeout: options.idleTimeoutMs ?? 10_000,
      },
      {
        notify: (payload) => this.#deliver(payload),
        // Changes may have been missed while the connection was down: poke everyone once.
        recovered: () => this.#pokeEveryone(),
        report: (error) => this.#report(error),
      },
    );
  }

  /** How many subscribers are listening. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** Whether the bus subscription is open. */
  get connected(): boolean {
    return this.#session.connected;
  }

  /** Whether this hub pushes pages to subscribers that take them (it has a `db`). */
  get pushes(): boolean {
    return this.#pushes !== undefined;
  }

  /** Database reads made for pushed pages so far (one per group, scope and change window). */
  get pushReads(): number {
    return this.#pushes?.reads ?? 0;
  }

  /**
   * Listens for changes a group's subscriber may see. The listener is called
   * at most once per `coalesceMs` window with every table changed meanwhile. Opens the
   * bus subscription if it is not open.
   *
   * @returns the function that unsubscribes (idempotent).
   * @throws {CarburetorServerError} `bad_request` for an unknown group,
   * `unauthorized` when a context value a restriction needs is missing.
   * @example
   * ```ts
   * const unsubscribe = hub.subscribe('private_contacts', { userId: 'u1' }, ({ tables }) => {
   *   console.log('download', tables);
   * });
   * await hub.ready();
   * ```
   */
  subscribe(
    group: string,
    contextValues: ContextValues,
    listener: (poke: ChangePoke) => void,
    options: SubscribeOptions = {},
  ): () => void {
    if (this.#session.closed) {
      throw new CarburetorServerError('bad_request', 'This ChangeHub is closed.');
    }
    const resolved = (this.config.groups as Record<string, ResolvedGroup | undefined>)[group];
    if (!resolved) {
      throw new CarburetorServerError(
        'bad_request',
        `Unknown sync group "${group}"; the groups are: ${Object.keys(this.config.groups).join(', ')}.`,
      );
    }
    checkContext(resolved, contextValues);
    const subscriber: Subscriber = {
      listener,
      group: resolved,
      values: contextValues,
      pushes: options.pushes === true && this.#pushes !== undefined,
      lsn: options.lsn === true && this.#db !== undefined,
      watches: [],
      sending: Promise.resolve(),
    };
    subscriber.watches = this.#index.add(subscriber, resolved, contextValues);
    this.#subscribers.add(subscriber);
    if (subscriber.pushes) {
      const scope = this.#scopeKey(subscriber);
      this.#pushScopes.set(scope, (this.#pushScopes.get(scope) ?? 0) + 1);
    }
    this.#session.setWanted(true);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.#remove(subscriber);
    };
  }

  /**
   * Tells every instance's subscribers (through the bus) what a committed
   * upload changed. Coalesced: about one bus message per `coalesceMs`
   * window, whatever the write rate. `uploadChanges(..., { changes: hub })`
   * and the sync router call it; call it yourself only for writes that
   * mark their transaction as an upload.
   *
   * @example
   * ```ts
   * hub.announce([{ t: 'contacts', r: { owner_id: ['u1'] } }]);
   * ```
   */
  announce(changes: readonly TableChange[]): void {
    if (this.#session.closed) return;
    this.#announcer.announce(changes);
    // This process's subscribers hear it now, not a bus round trip later (the bus echo is skipped).
    this.#match(changes);
  }

  /**
   * Says an upload of this process is under way; call the function returned
   * when it has ended (after its `announce`, or failing). While uploads are
   * under way, a poke that would go out at once waits for them (not for
   * uploads that start later), at most one window: a burst of concurrent
   * uploads makes one poke, and one page read per scope, instead of one for
   * its first change and one for the rest. A lone upload's poke goes as soon
   * as it ends. `uploadChanges(..., { changes: hub })` and the sync router
   * call it.
   *
   * @example
   * ```ts
   * const ended = hub.uploadStarted();
   * try {
   *   hub.announce(await writeAndCommit());
   * } finally {
   *   ended();
   * }
   * ```
   */
  uploadStarted(): () => void {
    const upload = this.#uploadsStarted++;
    this.#uploading.add(upload);
    return () => {
      if (!this.#uploading.delete(upload) || this.#holdingFor === undefined) return;
      // The set keeps start order: its first is the oldest upload still under way.
      const oldest = this.#uploading.values().next().value;
      if (oldest !== undefined && oldest < this.#holdingFor) return;
      this.#holdingFor = undefined;
      this.#coalescer.release();
    };
  }

  /** Whether a poke due now waits: for the uploads under way now, not for those that start later. */
  #holdForUploads(): boolean {
    if (this.#uploading.size === 0) return false;
    this.#holdingFor = this.#uploadsStarted;
    return true;
  }

  /**
   * Resolves once the bus subscription is open (at once if it is), or when
   * `signal` aborts. A change committed after this resolves reaches the
   * subscribers; download after it to catch what came before.
   */
  ready(signal?: AbortSignal): Promise<void> {
    if (this.#session.closed) {
      return Promise.reject(new CarburetorServerError('bad_request', 'This ChangeHub is closed.'));
    }
    return this.#session.ready(signal);
  }

  /**
   * Sends the announcements still queued, closes the bus subscription and
   * forgets every subscriber (their listeners are not called again). For
   * shutdown; the hub cannot be reused.
   */
  async close(): Promise<void> {
    await this.#announcer.flush();
    this.#announcer.clear();
    this.#subscribers.clear();
    this.#index.clear();
    this.#coalescer.clear();
    await this.#session.close();
    await this.#bus.close();
  }

  /** Sends the queued announcements now and waits until they are on the bus. */
  flush(): Promise<void> {
    return this.#announcer.flush();
  }

  #remove(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return;
    this.#coalescer.forget(subscriber);
    this.#index.remove(subscriber.watches);
    if (subscriber.pushes) {
      const scope = this.#scopeKey(subscriber);
      const left = (this.#pushScopes.get(scope) ?? 1) - 1;
      if (left > 0) this.#pushScopes.set(scope, left);
      else {
        this.#pushScopes.delete(scope);
        this.#pushes?.forget(subscriber.group, subscriber.values);
      }
    }
    if (this.#subscribers.size === 0) this.#session.setWanted(false);
  }

  #scopeKey(subscriber: Subscriber): string {
    return `${subscriber.group.name}\u0000${scopeOf(subscriber.group, subscriber.values)}`;
  }

  /** Pokes a subscriber; one that takes pushes gets the pages, read once for its whole scope. */
  #send(subscriber: Subscriber, tables: string[]): void {
    if (!subscriber.pushes && !subscriber.lsn) {
      this.#call(subscriber, { tables });
      return;
    }
    // Reads come first: one after another, so the subscriber's pokes keep their order.
    subscriber.sending = subscriber.sending.then(async () => {
      const poke = await this.#pokeFor(subscriber, tables);
      if (this.#subscribers.has(subscriber)) this.#call(subscriber, poke);
    });
  }

  /**
   * The poke with what its subscriber takes: the pages of its scope, and
   * the WAL position when a table is left to download. A read that fails
   * leaves its part out: the client downloads, from a standby as it stands
   * (later, never wrong).
   */
  async #pokeFor(subscriber: Subscriber, tables: string[]): Promise<ChangePoke> {
    let poke: ChangePoke = { tables };
    if (subscriber.pushes && this.#pushes) {
      try {
        const push = await this.#pushes.pushFor(subscriber.group, subscriber.values, tables);
        poke = { tables, pages: push.pages, serverTime: push.serverTime };
      } catch (error) {
        this.#report(error);
      }
    }
    if (!subscriber.lsn || tables.every((table) => poke.pages?.[table] !== undefined)) return poke;
    try {
      return { ...poke, lsn: await this.#walPosition() };
    } catch (error) {
      this.#report(error);
      return poke;
    }
  }

  /** The primary's WAL position now: one read for every poke of a window (they ask together). */
  #walPosition(): Promise<string> {
    const db = this.#db!;
    this.#walRead ??= sql<{ lsn: string }>`select pg_current_wal_insert_lsn()::text as lsn`
      .execute(db)
      .then((result) => result.rows[0]!.lsn)
      .finally(() => {
        this.#walRead = undefined;
      });
    return this.#walRead;
  }

  #call(subscriber: Subscriber, poke: ChangePoke): void {
    try {
      subscriber.listener(poke);
    } catch (error) {
      this.#report(error);
    }
  }

  /** Tells `onError`; a handler that throws must stop neither the reconnecting nor the process (this runs in timers). */
  #report(error: unknown): void {
    try {
      this.#onError(error);
    } catch {
      // Nowhere left to report it.
    }
  }

  #deliver(text: string): void {
    if (changeMessageOrigin(text) === this.#origin) return;
    const changes = decodeChangeMessage(text);
    if (changes === 'everything') {
      this.#pokeEveryone();
      return;
    }
    this.#match(changes);
  }

  /** Pokes (coalesced) the subscribers whose scope the changes touch. */
  #match(changes: readonly TableChange[]): void {
    for (const change of changes) {
      this.#index.match(change, (watch) => this.#coalescer.poke(watch.subscriber, watch.tableKey));
    }
  }

  /** Changes may have been missed (the bus was away) or a message was unreadable. */
  #pokeEveryone(): void {
    this.#index.matchAll((watch) => this.#coalescer.poke(watch.subscriber, watch.tableKey));
  }
}

/**
 * Creates the hub of this process's realtime: it announces uploads on the
 * change bus and fans the bus out to realtime subscribers. Pass it to every
 * `createSyncRouter` of the same config in the process, so they share one
 * bus subscription; without one, each router creates its own.
 *
 * The default bus is PostgreSQL's LISTEN/NOTIFY: the LISTEN connection is
 * opened like `db`'s pool (one more connection than the pool's maximum),
 * or on its PGlite; give `listen` when `db` was not made by Carburetor's
 * dialects, or when the pool goes through a pooler in transaction mode
 * (LISTEN needs a session of its own). Or pass `bus:
 * createRedisChangeBus({ url })`.
 *
 * @throws {CarburetorServerError} `no_listen_source` when there is no `bus`
 * and neither `listen` nor a `db` made by Carburetor's dialects says where
 * to LISTEN.
 * @example
 * ```ts
 * import { createChangeHub, createPgKysely, createSyncRouter } from '@carburetor/server';
 *
 * const db = createPgKysely(process.env.DATABASE_URL!);
 * const changes = createChangeHub(config, { db }); // or { db, bus: createRedisChangeBus({ url: process.env.REDIS_URL! }) }
 * export const syncRouter = createSyncRouter(config, { db, changes, context: (ctx) => ({ userId: ctx.user.id }) });
 * export const adminSyncRouter = createSyncRouter(config, { db, changes, procedure: adminProcedure });
 * // at shutdown
 * await changes.close();
 * ```
 */
export function createChangeHub(config: AnySyncConfig, options: ChangeHubOptions): ChangeHub {
  const { bus } = options;
  if (!bus) return new ChangeHub(config, createPostgresChangeBus(options), options);
  return new ChangeHub(config, withOutsideWrites(bus, options), options);
}

/**
 * Another bus, paired with PostgreSQL's LISTEN where `db` or `listen` says
 * where: the notify triggers announce writes from outside Carburetor there
 * only.
 */
function withOutsideWrites(bus: ChangeBus, options: ChangeHubOptions): ChangeBus {
  if (options.db === undefined && options.listen === undefined) return bus;
  let postgres: ChangeBus;
  try {
    postgres = createPostgresChangeBus(options);
  } catch (error) {
    if (error instanceof CarburetorServerError && error.code === 'no_listen_source') return bus;
    throw error;
  }
  return pairedBus(bus, postgres);
}
