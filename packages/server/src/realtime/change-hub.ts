import type { AnySyncConfig, ResolvedGroup, ResolvedTable } from '@carburetor/core';
import type { PGlite } from '@electric-sql/pglite';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { type ContextValues, checkContext } from '../download/download.ts';
import { burstReporter } from '../driver/burst-reporter.ts';
import { databaseSourceOf } from '../driver/database-source.ts';
import { CarburetorServerError } from '../errors.ts';
import { notifyScopeKey } from '../schema/notify-trigger.ts';
import {
  type ListenConnection,
  type ListenConnector,
  listenConfigOfPool,
  pgListenConnector,
  pgliteListenConnector,
} from './listen-connection.ts';

/** What a subscriber is told: these tables of its group changed (download them). */
export interface ChangePoke {
  /** Table keys (config keys, not SQL names) of the group. */
  readonly tables: readonly string[];
}

/** Where the hub opens its LISTEN connection. */
export type ListenTarget = string | pg.ClientConfig | PGlite;

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
   * The coalescing window, in ms: a poke goes out at once when none went out
   * in the last window, else when the window ends, merged with what came
   * meanwhile, so a burst makes about one poke per window. Default 50.
   */
  coalesceMs?: number;
  /** Reconnect backoff after the LISTEN connection broke: first delay and cap, in ms. Default 100 and 5,000. */
  retryDelayMs?: { readonly initial?: number; readonly max?: number };
  /** How long the LISTEN connection stays open once the last subscriber left, in ms. Default 10,000. */
  idleTimeoutMs?: number;
  /** Hears connection trouble (the hub keeps retrying). Default: `console.warn`, once per burst. */
  onError?: (error: unknown) => void;
}

/** One subscription: its listener and the tables it has been poked about since the last delivery. */
interface Subscriber {
  readonly listener: (poke: ChangePoke) => void;
  readonly pending: Set<string>;
  readonly watches: Watch[];
}

/** A subscriber's interest in one SQL table, under one of its table keys. */
interface Watch {
  readonly subscriber: Subscriber;
  readonly tableKey: string;
  /** Where it is filed: its scope's key, and its restriction value (undefined when unrestricted). */
  readonly scope: string;
  readonly value: string | undefined;
}

/**
 * Everyone who listens to one SQL table, by scope key: a restriction column
 * (`r` of the payload) or `<filter key>:<column or ''>` (`s`), '' for a
 * group with neither.
 */
interface TableWatchers {
  /** scope key → watches of unrestricted groups. */
  readonly open: Map<string, Set<Watch>>;
  /** scope key → restriction value as PostgreSQL's text → watches. */
  readonly restricted: Map<string, Map<string, Set<Watch>>>;
}

/** The NOTIFY payload the triggers send (see `notifyFunctionSql`). */
interface ChangePayload {
  /** SQL table name. */
  t: string;
  /** restriction column → values touched, or '*' for many. */
  r?: Record<string, string[] | '*'>;
  /** filtered scope → values (or, unrestricted, whether any row) in the filter or leaving it. */
  s?: Record<string, string[] | '*' | boolean>;
}

type HubState = 'idle' | 'connecting' | 'connected' | 'retrying' | 'closed';

/**
 * Fans PostgreSQL change notifications out to subscribers in this process,
 * over ONE LISTEN connection (opened on the first subscriber, closed a while
 * after the last one left). A subscriber names a sync group and its context
 * values, and hears of every statement that wrote rows of the group's tables
 * in its scope: with its restriction values, and, for a filtered group, in
 * the filter or leaving it (or too many values to list). So a poke tells a
 * subscriber nothing of rows it may not see. Pokes are coalesced: at
 * most one per `coalesceMs` window, the first at once, so a burst makes a
 * few pokes per subscriber, each naming every table changed meanwhile.
 *
 * A broken LISTEN connection is noticed (the client's error/end events, TCP
 * keep-alive) and reopened with exponential backoff; once it is back, every
 * subscriber is poked about all its tables, since changes may have been
 * missed meanwhile (the download cursor makes a spurious poke harmless).
 *
 * Create it with {@link createChangeHub}; share one per process and config
 * between routers (`createSyncRouter(config, { changes: hub })`).
 */
export class ChangeHub {
  readonly config: AnySyncConfig;
  readonly #connect: ListenConnector;
  readonly #coalesceMs: number;
  readonly #retryInitial: number;
  readonly #retryMax: number;
  readonly #idleTimeoutMs: number;
  readonly #onError: (error: unknown) => void;
  /** SQL table name → table by key, per group, built once. */
  readonly #sqlNames = new Map<string, string>();
  readonly #subscribers = new Set<Subscriber>();
  readonly #tables = new Map<string, TableWatchers>();
  readonly #dirty = new Set<Subscriber>();
  readonly #readyWaiters = new Set<() => void>();
  #state: HubState = 'idle';
  #connection: ListenConnection | undefined;
  /** Bumped whenever a connection (or attempt) is abandoned, so its late callbacks are ignored. */
  #generation = 0;
  #attempt = 0;
  /** Changes may have been missed since the last connection: poke everyone when it is back. */
  #missed = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #lastFlush = Number.NEGATIVE_INFINITY;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal Use {@link createChangeHub}. */
  constructor(config: AnySyncConfig, connect: ListenConnector, options: ChangeHubOptions = {}) {
    this.config = config;
    this.#connect = connect;
    this.#coalesceMs = options.coalesceMs ?? 50;
    this.#retryInitial = options.retryDelayMs?.initial ?? 100;
    this.#retryMax = options.retryDelayMs?.max ?? 5_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
    // By default one warning per burst: each reconnect attempt fails while PostgreSQL is away.
    this.#onError =
      options.onError ??
      burstReporter((error, skipped) => {
        const more = skipped > 0 ? ` (${skipped} more failures since the last warning)` : '';
        console.warn(
          `Carburetor: the LISTEN connection for realtime changes failed${more}; retrying. ${String(error)}`,
        );
      });
    for (const table of Object.values(config.tables) as ResolvedTable[]) {
      this.#sqlNames.set(table.key, table.sqlName);
    }
  }

  /** How many subscribers are listening. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** Whether the LISTEN connection is open. */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /**
   * Listens for changes a group's subscriber may see. The listener is called
   * at most once per `coalesceMs` window with every table changed meanwhile. Opens the
   * LISTEN connection if it is not open.
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
  ): () => void {
    if (this.#state === 'closed') {
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
    const subscriber: Subscriber = { listener, pending: new Set(), watches: [] };
    for (const entry of resolved.tables) {
      const sqlName = entry.table.sqlName;
      let watchers = this.#tables.get(sqlName);
      if (!watchers) {
        watchers = { open: new Map(), restricted: new Map() };
        this.#tables.set(sqlName, watchers);
      }
      const restriction = entry.restrictTo;
      const filtered = entry.filter !== undefined && Object.keys(entry.filter).length > 0;
      const scope = filtered
        ? notifyScopeKey(entry.filter!, restriction?.column)
        : (restriction?.column ?? '');
      if (!restriction) {
        const watch: Watch = { subscriber, tableKey: entry.table.key, scope, value: undefined };
        setIn(watchers.open, scope).add(watch);
        subscriber.watches.push(watch);
        continue;
      }
      const column = entry.table.column[restriction.column];
      const value = restrictionValueText(column?.kind, contextValues[restriction.context]!);
      let byValue = watchers.restricted.get(scope);
      if (!byValue) {
        byValue = new Map();
        watchers.restricted.set(scope, byValue);
      }
      const watch: Watch = { subscriber, tableKey: entry.table.key, scope, value };
      setIn(byValue, value).add(watch);
      subscriber.watches.push(watch);
    }
    this.#subscribers.add(subscriber);
    if (this.#idleTimer) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
    if (this.#state === 'idle') void this.#open();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.#remove(subscriber);
    };
  }

  /**
   * Resolves once the LISTEN connection is open (at once if it is), or when
   * `signal` aborts. A change committed after this resolves reaches the
   * subscribers; download after it to catch what came before.
   */
  ready(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'connected' || signal?.aborted) return Promise.resolve();
    if (this.#state === 'closed') {
      return Promise.reject(new CarburetorServerError('bad_request', 'This ChangeHub is closed.'));
    }
    return new Promise((resolve) => {
      const done = () => {
        this.#readyWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#readyWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Closes the LISTEN connection and forgets every subscriber (their
   * listeners are not called again). For shutdown; the hub cannot be reused.
   */
  async close(): Promise<void> {
    this.#state = 'closed';
    this.#generation++;
    for (const timer of [this.#flushTimer, this.#retryTimer, this.#idleTimer]) clearTimeout(timer);
    this.#subscribers.clear();
    this.#tables.clear();
    this.#dirty.clear();
    for (const waiter of [...this.#readyWaiters]) waiter();
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.close();
  }

  #remove(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return;
    this.#dirty.delete(subscriber);
    for (const watch of subscriber.watches) {
      const sqlName = this.#sqlNames.get(watch.tableKey)!;
      const watchers = this.#tables.get(sqlName);
      if (!watchers) continue;
      if (watch.value === undefined) {
        const set = watchers.open.get(watch.scope);
        set?.delete(watch);
        if (set?.size === 0) watchers.open.delete(watch.scope);
      } else {
        const byValue = watchers.restricted.get(watch.scope);
        const set = byValue?.get(watch.value);
        set?.delete(watch);
        if (set?.size === 0) byValue?.delete(watch.value);
        if (byValue?.size === 0) watchers.restricted.delete(watch.scope);
      }
      if (watchers.open.size === 0 && watchers.restricted.size === 0) this.#tables.delete(sqlName);
    }
    if (this.#subscribers.size === 0 && this.#state !== 'closed') {
      this.#idleTimer = setTimeout(() => this.#idle(), this.#idleTimeoutMs);
      this.#idleTimer.unref?.();
    }
  }

  /** Nobody listened for `idleTimeoutMs`: let the connection go. */
  #idle(): void {
    this.#idleTimer = undefined;
    if (this.#subscribers.size > 0 || this.#state === 'closed') return;
    this.#generation++;
    clearTimeout(this.#retryTimer);
    this.#state = 'idle';
    this.#missed = false;
    this.#attempt = 0;
    const connection = this.#connection;
    this.#connection = undefined;
    void connection?.close();
  }

  async #open(): Promise<void> {
    this.#state = 'connecting';
    const generation = ++this.#generation;
    let connection: ListenConnection;
    try {
      connection = await this.#connect({
        notify: (payload) => {
          if (generation === this.#generation) this.#deliver(payload);
        },
        lost: (error) => {
          if (generation === this.#generation) this.#lost(error);
        },
      });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#lost(error);
      return;
    }
    if (generation !== this.#generation) {
      await connection.close();
      return;
    }
    this.#connection = connection;
    this.#state = 'connected';
    this.#attempt = 0;
    for (const waiter of [...this.#readyWaiters]) waiter();
    if (this.#missed) {
      this.#missed = false;
      for (const subscriber of this.#subscribers) {
        for (const watch of subscriber.watches) this.#poke(subscriber, watch.tableKey);
      }
    }
  }

  #lost(error: unknown): void {
    this.#generation++;
    this.#connection = undefined;
    this.#missed = true;
    this.#report(error);
    if (this.#subscribers.size === 0) {
      this.#state = 'idle';
      this.#missed = false;
      this.#attempt = 0;
      return;
    }
    this.#state = 'retrying';
    const base = Math.min(this.#retryMax, this.#retryInitial * 2 ** this.#attempt);
    this.#attempt++;
    // Jitter, so server instances that lost the database together do not return in lockstep.
    const delay = base / 2 + Math.random() * (base / 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state === 'retrying') void this.#open();
    }, delay);
    this.#retryTimer.unref?.();
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
    let payload: ChangePayload;
    try {
      payload = JSON.parse(text) as ChangePayload;
    } catch {
      return;
    }
    const watchers = this.#tables.get(payload.t);
    if (!watchers) return;
    for (const [scope, set] of watchers.open) {
      // A filtered scope the payload says nothing of (an older trigger) pokes everyone.
      if (scope !== '' && payload.s?.[scope] === false) continue;
      for (const watch of set) this.#poke(watch.subscriber, watch.tableKey);
    }
    for (const [scope, byValue] of watchers.restricted) {
      const values = scope.includes(':') ? payload.s?.[scope] : payload.r?.[scope];
      if (Array.isArray(values)) {
        for (const value of values) {
          const set = byValue.get(value);
          if (set) for (const watch of set) this.#poke(watch.subscriber, watch.tableKey);
        }
      } else {
        // "*" (too many to list), or a payload without the column: everyone.
        for (const set of byValue.values()) {
          for (const watch of set) this.#poke(watch.subscriber, watch.tableKey);
        }
      }
    }
  }

  #poke(subscriber: Subscriber, tableKey: string): void {
    subscriber.pending.add(tableKey);
    this.#dirty.add(subscriber);
    if (this.#flushTimer === undefined) {
      // At once (after this batch of notifications) when the last delivery is a window old;
      // otherwise when its window ends, so a burst makes one poke per window.
      const wait = Math.max(0, this.#lastFlush + this.#coalesceMs - performance.now());
      this.#flushTimer = setTimeout(() => this.#flush(), wait);
    }
  }

  #flush(): void {
    this.#flushTimer = undefined;
    this.#lastFlush = performance.now();
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const subscriber of dirty) {
      const tables = [...subscriber.pending];
      subscriber.pending.clear();
      try {
        subscriber.listener({ tables });
      } catch (error) {
        this.#report(error);
      }
    }
  }
}

/** The set filed under `key`, made on first use. */
function setIn<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

/**
 * A context value as PostgreSQL prints the restriction column's value
 * (`col::text`), so the payload's values can be looked up directly.
 */
function restrictionValueText(kind: string | undefined, value: string | number): string {
  if (kind === 'uuid') return String(value).toLowerCase();
  if ((kind === 'integer' || kind === 'bigint') && /^[+-]?\d+$/.test(String(value).trim())) {
    return BigInt(String(value).trim()).toString();
  }
  return String(value);
}

/**
 * Creates the hub that fans this process's LISTEN connection out to
 * realtime subscribers. Pass it to every `createSyncRouter` of the same
 * config in the process, so they share one connection; without one, each
 * router creates its own on its first subscriber.
 *
 * The LISTEN connection is opened like `db`'s pool (one more connection
 * than the pool's maximum), or on its PGlite; give `listen` when `db` was
 * not made by Carburetor's dialects, or when the pool goes through a pooler
 * in transaction mode (LISTEN needs a session of its own).
 *
 * @throws {CarburetorServerError} `no_listen_source` when neither `listen`
 * nor a `db` made by Carburetor's dialects says where to LISTEN.
 * @example
 * ```ts
 * import { createChangeHub, createPgKysely, createSyncRouter } from '@carburetor/server';
 *
 * const db = createPgKysely(process.env.DATABASE_URL!);
 * const changes = createChangeHub(config, { db });
 * export const syncRouter = createSyncRouter(config, { db, changes, context: (ctx) => ({ userId: ctx.user.id }) });
 * export const adminSyncRouter = createSyncRouter(config, { db, changes, procedure: adminProcedure });
 * // at shutdown
 * await changes.close();
 * ```
 */
export function createChangeHub(config: AnySyncConfig, options: ChangeHubOptions): ChangeHub {
  return new ChangeHub(config, connectorOf(options), options);
}

function connectorOf(options: ChangeHubOptions): ListenConnector {
  const { listen, db } = options;
  if (typeof listen === 'string') return pgListenConnector({ connectionString: listen });
  if (listen !== undefined) {
    if (typeof (listen as PGlite).listen === 'function') {
      return pgliteListenConnector(listen as PGlite);
    }
    return pgListenConnector(listen as pg.ClientConfig);
  }
  const source = db ? databaseSourceOf(db) : undefined;
  if (source?.kind === 'pg') return pgListenConnector(listenConfigOfPool(source.pool));
  if (source?.kind === 'pglite') return pgliteListenConnector(source.pglite);
  throw new CarburetorServerError(
    'no_listen_source',
    db
      ? 'Realtime changes need a LISTEN connection, and this Kysely was not made by createPgKysely, createPgliteKysely or their dialects, so Carburetor cannot tell where its database is; pass `listen: { connectionString }` (or a PGlite).'
      : 'Realtime changes need a LISTEN connection: pass `db` (made by createPgKysely or createPgliteKysely) or `listen: { connectionString }`.',
  );
}
