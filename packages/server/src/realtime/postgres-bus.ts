import type { PGlite } from '@electric-sql/pglite';
import { type Kysely, sql } from 'kysely';
import type pg from 'pg';
import { databaseSourceOf } from '../driver/database-source.ts';
import { pgModule } from '../driver/pg-module.ts';
import { withPgliteSession } from '../driver/pglite-dialect.ts';
import { CarburetorServerError } from '../errors.ts';
import { CHANGES_CHANNEL } from '../schema/names.ts';
import { NOTIFY_PAYLOAD_LIMIT } from '../schema/notify-trigger.ts';
import type { ChangeBus, ChangeBusHandlers, ChangeBusSubscription } from './change-bus.ts';

/** Where a PostgreSQL bus LISTENs: a connection string, a `pg` client config, or a PGlite. */
export type ListenTarget = string | pg.ClientConfig | PGlite;

/** Options of {@link createPostgresChangeBus}. */
export interface PostgresChangeBusOptions {
  /**
   * The database (the primary): messages are sent through it, and, when it
   * was made by `createPgKysely`, `createPgliteKysely` or their dialects,
   * the LISTEN connection is opened like its pool (same options, one
   * connection more than its `max`) or on its PGlite.
   */
  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  db?: Kysely<any>;
  /**
   * Where to LISTEN instead (and send, without `db`): for a Kysely built
   * some other way, or to go around a pooler in transaction mode, which
   * cannot hold a LISTEN.
   */
  listen?: ListenTarget;
}

/**
 * The default change bus: PostgreSQL's own LISTEN/NOTIFY on the
 * `carburetor_changes` channel, no extra service. A message is sent as
 * `SELECT pg_notify(...)` in a transaction of its own, never inside an
 * upload's, so the global lock NOTIFY takes at commit is held by that tiny
 * transaction only: about one per process per coalescing window. The
 * LISTEN connection is a session of its own on the primary.
 *
 * @throws {CarburetorServerError} `no_listen_source` when neither `listen`
 * nor a `db` made by Carburetor's dialects says where to LISTEN.
 * @example
 * ```ts
 * import { createChangeHub, createPostgresChangeBus } from '@carburetor/server';
 *
 * const bus = createPostgresChangeBus({ db, listen: process.env.DIRECT_DATABASE_URL });
 * const changes = createChangeHub(config, { bus });
 * ```
 */
export function createPostgresChangeBus(options: PostgresChangeBusOptions): ChangeBus {
  const { db, listen } = options;
  const subscribe = listenerOf(options);
  let pool: pg.Pool | undefined;
  const publish = async (message: string): Promise<void> => {
    if (db) {
      await notifyThrough(db)(message);
    } else if (isPglite(listen)) {
      await listen.query('select pg_notify($1, $2)', [CHANGES_CHANNEL, message]);
    } else {
      const config = typeof listen === 'string' ? { connectionString: listen } : listen!;
      pool ??= new (pgModule().Pool)({ ...config, max: 1, idleTimeoutMillis: 10_000 });
      // An idle connection that breaks is dropped by the pool; the next publish opens another.
      if (pool.listenerCount('error') === 0) pool.on('error', () => {});
      await pool.query('select pg_notify($1, $2)', [CHANGES_CHANNEL, message]);
    }
  };
  return {
    subscribe,
    publish,
    maxMessageBytes: NOTIFY_PAYLOAD_LIMIT,
    async close() {
      await pool?.end().catch(() => {});
      pool = undefined;
    },
  };
}

/** Sends a change message with `SELECT pg_notify(...)` through `db`, in a transaction of its own. */
// biome-ignore lint/suspicious/noExplicitAny: any database schema
export function notifyThrough(db: Kysely<any>): (message: string) => Promise<void> {
  return async (message) => {
    await sql`select pg_notify(${CHANGES_CHANNEL}, ${message})`.execute(db);
  };
}

function isPglite(target: ListenTarget | undefined): target is PGlite {
  return typeof (target as PGlite | undefined)?.listen === 'function';
}

function listenerOf(
  options: PostgresChangeBusOptions,
): (handlers: ChangeBusHandlers) => Promise<ChangeBusSubscription> {
  const { listen, db } = options;
  if (typeof listen === 'string') return pgListener({ connectionString: listen });
  if (listen !== undefined) {
    return isPglite(listen) ? pgliteListener(listen) : pgListener(listen);
  }
  const source = db ? databaseSourceOf(db) : undefined;
  if (source?.kind === 'pg') return pgListener(listenConfigOfPool(source.pool));
  if (source?.kind === 'pglite') return pgliteListener(source.pglite);
  throw new CarburetorServerError(
    'no_listen_source',
    db
      ? 'Realtime changes need a LISTEN connection, and this Kysely was not made by createPgKysely, createPgliteKysely or their dialects, so Carburetor cannot tell where its database is; pass `listen: { connectionString }` (or a PGlite).'
      : 'Realtime changes need a LISTEN connection: pass `db` (made by createPgKysely or createPgliteKysely) or `listen: { connectionString }`.',
  );
}

/**
 * A dedicated `pg.Client` (not a pool slot: it stays busy for as long as it
 * listens) with TCP keep-alive, so a dead peer is noticed without polling.
 */
function pgListener(
  config: pg.ClientConfig,
): (handlers: ChangeBusHandlers) => Promise<ChangeBusSubscription> {
  return async (handlers) => {
    const client = new (pgModule().Client)({
      application_name: 'carburetor-listen',
      ...config,
      keepAlive: true,
    });
    let done = false;
    const lost = (error: unknown) => {
      if (done) return;
      done = true;
      handlers.lost(error);
      client.end().catch(() => {});
    };
    // Both may fire for one break ('error' then 'end'); after close() they are expected.
    client.on('error', lost);
    client.on('end', () => lost(new Error('The LISTEN connection to PostgreSQL ended.')));
    client.on('notification', (message) => {
      if (!done && message.channel === CHANGES_CHANNEL && message.payload !== undefined) {
        handlers.message(message.payload);
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      done = true;
      await client.end().catch(() => {});
      throw error;
    }
    return {
      async close() {
        done = true;
        await client.end().catch(() => {});
      },
    };
  };
}

/**
 * The client config of a LISTEN connection to the database a pg pool
 * reaches: the pool's own options, password and TLS key included (pg-pool
 * keeps those non-enumerable).
 */
export function listenConfigOfPool(pool: pg.Pool): pg.ClientConfig {
  const options = pool.options as pg.PoolConfig;
  return { ...options, password: options.password, ssl: options.ssl };
}

/** PGlite's own listen(), taken while no kysely transaction holds the session. */
function pgliteListener(
  pglite: PGlite,
): (handlers: ChangeBusHandlers) => Promise<ChangeBusSubscription> {
  return async (handlers) => {
    const unlisten = await withPgliteSession(pglite, () =>
      pglite.listen(CHANGES_CHANNEL, (payload) => handlers.message(payload)),
    );
    return {
      async close() {
        if (pglite.closed) return;
        await withPgliteSession(pglite, () => unlisten()).catch(() => {});
      },
    };
  };
}
