import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { type DialectAdapter, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { rememberDatabaseSource } from './database-source.ts';
import { exactPgTypes } from './exact-pg-types.ts';
import { RowStream } from './row-stream.ts';

/** What the pg driver can be built from: a URL, a pg pool config, or a pool the app owns. */
export type PgSource = string | pg.PoolConfig | pg.Pool;

const UTC_OPTION = '-c TimeZone=UTC';

/**
 * Creates a pg Pool whose connections return exact values (`exactPgTypes`) and
 * run with `TimeZone=UTC`, so timestamptz text always ends in `+00`.
 *
 * @example
 * const pool = createPgPool(process.env.DATABASE_URL!);
 */
export function createPgPool(config: string | pg.PoolConfig): pg.Pool {
  const base: pg.PoolConfig = typeof config === 'string' ? { connectionString: config } : config;
  return new pg.Pool({
    ...base,
    types: exactPgTypes,
    // Startup option, so it holds from the first statement and survives DISCARD ALL.
    options: base.options ? `${base.options} ${UTC_OPTION}` : UTC_OPTION,
  });
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
 * @example
 * const db = new Kysely<DB>({ dialect: createPgDialect('postgres://localhost/app') });
 */
export function createPgDialect(source: PgSource): PostgresDialect {
  const raw = isPool(source) ? source : createPgPool(source);
  return new SourcePostgresDialect(raw, new ExactPool(raw, raw === source));
}

/** PostgresDialect that remembers its pool, so the realtime hub can open a LISTEN connection like it. */
class SourcePostgresDialect extends PostgresDialect {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool, exact: ExactPool) {
    super({ pool: exact, cursor: RowStream });
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
 */
export function createPgKysely<DB>(source: PgSource): Kysely<DB> {
  return new Kysely<DB>({ dialect: createPgDialect(source) });
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

  constructor(pool: pg.Pool, setTimeZone: boolean) {
    this.#pool = pool;
    this.#setTimeZone = setTimeZone;
  }

  get options(): object {
    return this.#pool.options;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.#pool.connect();
    if (this.#setTimeZone && !this.#utc.has(client)) {
      try {
        await client.query("set time zone 'UTC'");
      } catch (error) {
        client.release(true);
        throw error;
      }
      this.#utc.add(client);
    }
    // The same wrapper for the same client, so kysely's per-connection cache still hits.
    let wrapped = this.#wrapped.get(client);
    if (!wrapped) {
      wrapped = new ExactClient(client);
      this.#wrapped.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.#pool.end();
  }
}

class ExactClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;

  constructor(client: pg.PoolClient) {
    this.#client = client;
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
    if (typeof sqlOrCursor !== 'string') {
      if (!(sqlOrCursor instanceof RowStream)) {
        throw new Error(
          'createPgDialect streams through its own cursor: another one would bypass the exact parsers.',
        );
      }
      return this.#client.query(sqlOrCursor);
    }
    return this.#client.query({
      text: sqlOrCursor,
      values: parameters ? [...parameters] : [],
      types: exactPgTypes,
    }) as unknown as Promise<PostgresQueryResult<R>>;
  }

  release(destroy?: boolean): void {
    this.#client.release(destroy);
  }
}
