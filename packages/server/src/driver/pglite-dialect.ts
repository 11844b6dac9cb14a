// Why our own dialect, when kysely 0.29 ships a PGliteDialect: kysely
// 0.28.x (in our peer range) has none; kysely's passes no value parsers (we
// need exactTextParsers, the pg driver's exact values), throws on `.stream()`
// (the download reads pages through it) and closes PGlite on `db.destroy()`;
// its lock covers only transactions, ours is one session lock per PGlite
// shared with LISTEN (`withPgliteSession`).
import type { PGlite } from '@electric-sql/pglite';
import {
  AbortedTransactionError,
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { CarburetorServerError } from '../errors.ts';
import { rememberDatabaseSource } from './database-source.ts';
import { exactTextParsers } from './exact-types.ts';

/**
 * kysely dialect over an in-process PGlite, with the same exact values as the
 * pg driver (`exactTextParsers`) and `TimeZone` set to UTC.
 *
 * PGlite is one session, so the driver lends it to one kysely connection at a
 * time: a transaction holds it until commit or rollback and other queries
 * wait. The lock is per PGlite instance, shared by every dialect over it.
 * Calling `pglite.query` directly bypasses the lock and may land inside a
 * kysely transaction; go through kysely. `db.destroy()` leaves PGlite open.
 *
 * @example
 * const db = new Kysely<DB>({ dialect: new PgliteDialect(await PGlite.create()) });
 */
export class PgliteDialect implements Dialect {
  readonly #pglite: PGlite;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
  }

  createDriver(): Driver {
    return new PgliteDriver(this.#pglite);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    const adapter = new PostgresAdapter();
    rememberDatabaseSource(adapter, { kind: 'pglite', pglite: this.#pglite });
    return adapter;
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

/**
 * A Kysely over PGlite (see `PgliteDialect`).
 *
 * @example
 * const pglite = new PGlite();
 * const db = createPgliteKysely<DB>(pglite);
 * await db.transaction().execute(async (tx) => { ... });
 */
export function createPgliteKysely<DB>(pglite: PGlite): Kysely<DB> {
  return new Kysely<DB>({ dialect: new PgliteDialect(pglite) });
}

/** A FIFO lock: `acquire` resolves with the function that releases it. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const acquired = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => released);
    return acquired;
  }
}

// Per instance, not per dialect: two Kysely objects over one PGlite still share one session.
const locks = new WeakMap<PGlite, Mutex>();

/**
 * Runs `work` on the PGlite session while no kysely transaction holds it,
 * so a statement such as LISTEN cannot land inside (and roll back with) one.
 */
export async function withPgliteSession<T>(pglite: PGlite, work: () => Promise<T>): Promise<T> {
  const release = await lockOf(pglite).acquire();
  try {
    return await work();
  } finally {
    release();
  }
}

function lockOf(pglite: PGlite): Mutex {
  let lock = locks.get(pglite);
  if (!lock) {
    lock = new Mutex();
    locks.set(pglite, lock);
  }
  return lock;
}

const AFFECTING_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

class PgliteConnection implements DatabaseConnection {
  readonly #pglite: PGlite;
  #release: (() => void) | undefined;

  constructor(pglite: PGlite, release: () => void) {
    this.#pglite = pglite;
    this.#release = release;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.#release) throw new Error('This PGlite connection was already released.');
    const result = await this.#pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters], {
      rowMode: 'object',
      parsers: exactTextParsers,
    });
    const command = result.command?.toUpperCase();
    // COMMIT of an aborted transaction completes as ROLLBACK; the driver reads it from rows.
    if (command === 'COMMIT' || command === 'ROLLBACK') {
      return { rows: [{ command } as R] };
    }
    return {
      rows: result.rows,
      numAffectedRows:
        command && AFFECTING_COMMANDS.has(command)
          ? BigInt(result.rowCount ?? result.affectedRows ?? 0)
          : undefined,
    };
  }

  /** PGlite returns whole results: `.stream()` reads the result, then hands it over in chunks. */
  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize: number,
  ): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (let at = 0; at < rows.length; at += chunkSize) {
      yield { rows: rows.slice(at, at + chunkSize) };
    }
  }

  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}

class PgliteDriver implements Driver {
  readonly #pglite: PGlite;
  readonly #lock: Mutex;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
    this.#lock = lockOf(pglite);
  }

  async init(): Promise<void> {
    await this.#pglite.waitReady.catch((error: unknown) => {
      throw explainPgliteStartFailure(error);
    });
    // Under the lock: inside another dialect's open transaction a SET would roll back with it.
    const release = await this.#lock.acquire();
    try {
      await this.#pglite.query("set time zone 'UTC'");
    } finally {
      release();
    }
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PgliteConnection(this.#pglite, await this.#lock.acquire());
  }

  async beginTransaction(
    connection: DatabaseConnection,
    settings: TransactionSettings,
  ): Promise<void> {
    let sql = 'begin';
    if (settings.isolationLevel || settings.accessMode) {
      sql = 'start transaction';
      if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) sql += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(sql));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const { rows } = await connection.executeQuery<{ command?: string }>(
      CompiledQuery.raw('commit'),
    );
    if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release ${quoteIdentifier(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PgliteConnection).release();
  }

  async destroy(): Promise<void> {
    // The PGlite instance belongs to the caller, who may keep using it.
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * PGlite loads its WebAssembly and data files from `node_modules` by URL. A
 * bundler that takes it into a server bundle (Next.js with webpack) hands it
 * URLs Node's fs refuses, and PGlite fails to start with Node's bare "The
 * "path" argument must be of type string ... Received an instance of URL":
 * say what it means and which setting fixes it. Other errors pass unchanged.
 */
export function explainPgliteStartFailure(error: unknown): unknown {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_INVALID_ARG_TYPE' || !/Received an instance of URL/.test(String(message))) {
    return error;
  }
  return new CarburetorServerError(
    'pglite_bundled',
    "PGlite could not load its own files: a bundler took @electric-sql/pglite into the server bundle and rewrote the URLs it loads them by. In Next.js add `serverExternalPackages: ['@electric-sql/pglite']` to next.config (needed with `next build --webpack`; Turbopack needs nothing), or exclude the package from your bundler's server build.",
    { cause: error },
  );
}
