import type { AnySyncConfig, ResolvedGroup } from '@carburetor/core';
import type { PGlite } from '@electric-sql/pglite';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { type ContextValues, checkContext } from '../download/download.ts';
import { burstReporter } from '../driver/burst-reporter.ts';
import { databaseSourceOf } from '../driver/database-source.ts';
import { CarburetorServerError } from '../errors.ts';
import {
  type ListenConnector,
  listenConfigOfPool,
  pgListenConnector,
  pgliteListenConnector,
} from './listen-connection.ts';
import { ListenSession } from './listen-session.ts';
import { PokeCoalescer } from './poke-coalescer.ts';
import { type ChangePayload, type Watch, WatchIndex } from './watch-index.ts';

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

/** One subscription: its listener and its watches in the index. */
interface Subscriber {
  readonly listener: (poke: ChangePoke) => void;
  watches: readonly Watch<Subscriber>[];
}

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
  readonly #onError: (error: unknown) => void;
  readonly #subscribers = new Set<Subscriber>();
  readonly #index = new WatchIndex<Subscriber>();
  readonly #coalescer: PokeCoalescer<Subscriber>;
  readonly #session: ListenSession;

  /** @internal Use {@link createChangeHub}. */
  constructor(config: AnySyncConfig, connect: ListenConnector, options: ChangeHubOptions = {}) {
    this.config = config;
    // By default one warning per burst: each reconnect attempt fails while PostgreSQL is away.
    this.#onError =
      options.onError ??
      burstReporter((error, skipped) => {
        const more = skipped > 0 ? ` (${skipped} more failures since the last warning)` : '';
        console.warn(
          `Carburetor: the LISTEN connection for realtime changes failed${more}; retrying. ${String(error)}`,
        );
      });
    this.#coalescer = new PokeCoalescer(options.coalesceMs ?? 50, (subscriber, tables) => {
      try {
        subscriber.listener({ tables });
      } catch (error) {
        this.#report(error);
      }
    });
    this.#session = new ListenSession(
      connect,
      {
        retryInitial: options.retryDelayMs?.initial ?? 100,
        retryMax: options.retryDelayMs?.max ?? 5_000,
        idleTimeout: options.idleTimeoutMs ?? 10_000,
      },
      {
        notify: (payload) => this.#deliver(payload),
        // Changes may have been missed while the connection was down: poke everyone once.
        recovered: () => {
          for (const subscriber of this.#subscribers) {
            for (const watch of subscriber.watches)
              this.#coalescer.poke(subscriber, watch.tableKey);
          }
        },
        report: (error) => this.#report(error),
      },
    );
  }

  /** How many subscribers are listening. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** Whether the LISTEN connection is open. */
  get connected(): boolean {
    return this.#session.connected;
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
    const subscriber: Subscriber = { listener, watches: [] };
    subscriber.watches = this.#index.add(subscriber, resolved, contextValues);
    this.#subscribers.add(subscriber);
    this.#session.setWanted(true);
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
    if (this.#session.closed) {
      return Promise.reject(new CarburetorServerError('bad_request', 'This ChangeHub is closed.'));
    }
    return this.#session.ready(signal);
  }

  /**
   * Closes the LISTEN connection and forgets every subscriber (their
   * listeners are not called again). For shutdown; the hub cannot be reused.
   */
  async close(): Promise<void> {
    this.#subscribers.clear();
    this.#index.clear();
    this.#coalescer.clear();
    await this.#session.close();
  }

  #remove(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return;
    this.#coalescer.forget(subscriber);
    this.#index.remove(subscriber.watches);
    if (this.#subscribers.size === 0) this.#session.setWanted(false);
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
    this.#index.match(payload, (watch) => this.#coalescer.poke(watch.subscriber, watch.tableKey));
  }
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
