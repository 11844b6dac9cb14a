import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { type DialectAdapter, Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import {
  type ConnectionErrorHandler,
  type GuardedCheckout,
  guardCheckout,
  guardPool,
} from './connection-guard.ts';
import { rememberDatabaseSource } from './database-source.ts';
import { exactPgTypes } from './exact-pg-types.ts';
import { pgModule } from './pg-module.ts';
import { PreparedStatements } from './prepared-statements.ts';
import { rowStreamClass } from './row-stream.ts';

/** What the pg driver can be built from: a URL, a pg pool config, or a pool the app owns. */
export type PgSource = string | pg.PoolConfig | pg.Pool;

/** Options of the pg driver: `createPgPool`, `createPgDialect`, `createPgKysely`. */
export interface PgDriverOptions {
  /**
   * Hears errors of connections that broke outside a query, idle in the pool
   * or checked out between queries (PostgreSQL restarted, a backend was
   * terminated, the network dropped). They never crash the process: the
   * broken connection is dropped and the pool opens new ones on demand.
   * Default: one `console.warn` per burst, left out on an app's own pool
   * that has an 'error' listener of its own.
   */
  onError?: (error: unknown) => void;
  /**
   * Whether Carburetor's own hot statements (the read of a pushed page) run
   * as named prepared statements, parsed and planned once per connection.
   * Default: true. Where the server forgets them (a pooler in transaction
   * mode, such as PgBouncer before 1.21, or an app's `DISCARD ALL`), the
   * statement that finds its name gone runs again unnamed and the pool
   * stops preparing; set false to skip even that. An app's own queries are
   * never prepared.
   */
  preparedStatements?: boolean;
}

const UTC_OPTION = '-c TimeZone=UTC';

/**
 * Creates a pg Pool whose connections return exact values (`exactPgTypes`) and
 * run with `TimeZone=UTC`, so timestamptz text always ends in `+00`. It has
 * an 'error' listener (see `PgDriverOptions.onError`), so a restart of
 * PostgreSQL cannot crash the process.
 *
 * @example
 * const pool = createPgPool(process.env.DATABASE_URL!, { onError: (e) => log.warn(e) });
 */
export function createPgPool(
  config: string | pg.PoolConfig,
  options: PgDriverOptions = {},
): pg.Pool {
  const base: pg.PoolConfig = typeof config === 'string' ? { connectionString: config } : config;
  const pool = new (pgModule().Pool)({
    ...base,
    types: exactPgTypes,
    // Startup option, so it holds from the first statement and survives DISCARD ALL.
    options: base.options ? `${base.options} ${UTC_OPTION}` : UTC_OPTION,
  });
  guardPool(pool, options.onError);
  return pool;
}

/**
 * kysely's PostgresDialect over pg with exact values and UTC sessions.
 *
 * From a URL or config it creates its own pool (`createPgPool`). Given an
 * existing pool, it parses exactly per query (the pool's other users keep their
 * parsers) and sets `TimeZone` to UTC on each client the first time kysely
 * borrows it, a session setting that stays on that client. kysely's
 * `db.destroy()` ends the pool either way.
 *
 * A connection that breaks (PostgreSQL restarts, a backend is terminated)
 * never crashes the process: the pool gets an 'error' listener, the app's
 * own pool too (once; it stays quiet when the app has a listener of its
 * own), and each client kysely borrows is watched until it is returned,
 * then dropped if it broke. Queries in flight fail; see `onError`.
 *
 * @example
 * const db = new Kysely<DB>({ dialect: createPgDialect('postgres://localhost/app') });
 */
export function createPgDialect(source: PgSource, options: PgDriverOptions = {}): PostgresDialect {
  const own = !isPool(source);
  const raw = own ? createPgPool(source, options) : source;
  // On a pool the app made, a listener of ours is the only way to keep an idle break from
  // crashing the process; it only reports, and stays quiet when the app listens itself.
  const onError = guardPool(raw, options.onError);
  const prepared = new PreparedStatements(options.preparedStatements ?? true);
  return new SourcePostgresDialect(raw, new ExactPool(raw, !own, onError, prepared));
}

/** PostgresDialect that remembers its pool, so the realtime hub can open a LISTEN connection like it. */
class SourcePostgresDialect extends PostgresDialect {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool, exact: ExactPool) {
    super({ pool: exact, cursor: rowStreamClass() });
    this.#pool = pool;
  }

  override createAdapter(): DialectAdapter {
    const adapter = super.createAdapter();
    rememberDatabaseSource(adapter, { kind: 'pg', pool: this.#pool });
    return adapter;
  }
}

/**
 * A Kysely over PostgreSQL through pg, with exact values and UTC sessions
 * (see `createPgDialect`).
 *
 * @example
 * const db = createPgKysely<DB>(process.env.DATABASE_URL!);
 * const rows = await db.selectFrom('phone_books').selectAll().execute();
 * await db.destroy();
 * @example
 * // Broken connections (a restart of PostgreSQL) into your own log instead of console.warn
 * const db = createPgKysely<DB>(process.env.DATABASE_URL!, { onError: (error) => log.warn(error) });
 */
export function createPgKysely<DB>(source: PgSource, options: PgDriverOptions = {}): Kysely<DB> {
  return new Kysely<DB>({ dialect: createPgDialect(source, options) });
}

function isPool(source: PgSource): source is pg.Pool {
  return (
    typeof source === 'object' && typeof (source as { connect?: unknown }).connect === 'function'
  );
}

/** Hands kysely clients that parse exactly, whatever the pool's own `types`. */
class ExactPool implements PostgresPool {
  readonly #pool: pg.Pool;
  readonly #setTimeZone: boolean;
  readonly #wrapped = new WeakMap<pg.PoolClient, ExactClient>();
  readonly #utc = new WeakSet<pg.PoolClient>();
  readonly #onError: ConnectionErrorHandler;
  readonly #prepared: PreparedStatements;

  constructor(
    pool: pg.Pool,
    setTimeZone: boolean,
    onError: ConnectionErrorHandler,
    prepared: PreparedStatements,
  ) {
    this.#pool = pool;
    this.#setTimeZone = setTimeZone;
    this.#onError = onError;
    this.#prepared = prepared;
  }

  get options(): object {
    return this.#pool.options;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.#pool.connect();
    // Watched from the moment it is ours: pg-pool took its own listener off.
    const checkout = guardCheckout(client, this.#onError);
    if (this.#setTimeZone && !this.#utc.has(client)) {
      try {
        await client.query("set time zone 'UTC'");
      } catch (error) {
        checkout.release(true);
        throw error;
      }
      this.#utc.add(client);
    }
    // The same wrapper for the same client, so kysely's per-connection cache still hits.
    let wrapped = this.#wrapped.get(client);
    if (!wrapped) {
      wrapped = new ExactClient(client, this.#prepared);
      this.#wrapped.set(client, wrapped);
    }
    wrapped.checkout = checkout;
    return wrapped;
  }

  end(): Promise<void> {
    return this.#pool.end();
  }
}

class ExactClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  readonly #prepared: PreparedStatements;
  /** This checkout's watch over the client; a new one each time the pool hands it out. */
  checkout: GuardedCheckout | undefined;

  constructor(client: pg.PoolClient, prepared: PreparedStatements) {
    this.#client = client;
    this.#prepared = prepared;
  }

  get processID(): number | undefined {
    return (this.#client as { processID?: number }).processID;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    const checkout = this.checkout;
    const failed = (error: unknown) => checkout?.queryFailed(error);
    if (typeof sqlOrCursor !== 'string') {
      if (!(sqlOrCursor instanceof rowStreamClass())) {
        throw new Error(
          'createPgDialect streams through its own cursor: another one would bypass the exact parsers.',
        );
      }
      sqlOrCursor.once('error', failed);
      return this.#client.query(sqlOrCursor);
    }
    const run = (name: string | undefined) =>
      this.#client.query({
        ...(name === undefined ? {} : { name }),
        text: sqlOrCursor,
        values: parameters ? [...parameters] : [],
        types: exactPgTypes,
      });
    const name = this.#prepared.nameOf(sqlOrCursor);
    const result =
      name === undefined
        ? run(undefined)
        : run(name).catch((error: unknown) => {
            // The server lost the statement before running it: once more, unnamed.
            if (this.#prepared.lost(error)) return run(undefined);
            throw error;
          });
    result.catch(failed);
    return result as unknown as Promise<PostgresQueryResult<R>>;
  }

  release(destroy?: boolean): void {
    const checkout = this.checkout;
    this.checkout = undefined;
    if (checkout) checkout.release(destroy);
    else this.#client.release(destroy);
  }
}
