import { AsyncMutex } from './async-mutex.ts';

/**
 * A value SQLite stores or returns. Integers come back as `number` when they
 * are safe integers and as `bigint` otherwise, so 64-bit ids survive exactly.
 * All of these are structured-clonable, so they cross a worker boundary as is.
 */
export type SqliteValue = null | number | bigint | string | Uint8Array;

/** One result row, keyed by column name. */
export type SqliteRow = Record<string, SqliteValue>;

/** One SQL statement with its positional (`?`) parameters. */
export interface SqliteStatement {
  readonly sql: string;
  readonly params?: readonly SqliteValue[];
}

/** What one statement produced. Plain data: safe to `postMessage`. */
export interface SqliteResult {
  readonly rows: readonly SqliteRow[];
  readonly columns: readonly string[];
  /** Rows inserted, updated or deleted by this statement (0 for reads). */
  readonly changes: number;
  /** SQLite's last inserted rowid on the connection, set when the statement changed rows. */
  readonly lastInsertRowid?: number | bigint;
}

/** Options of {@link SqliteExecutor.executeBatch}. */
export interface SqliteBatchOptions {
  /**
   * Run the batch atomically: `BEGIN`..`COMMIT` (or a savepoint when a
   * transaction is already open), rolled back on the first error, which is
   * rethrown.
   */
  readonly transaction?: boolean;
}

/** The calls that run SQL. Every call is one round trip to the engine. */
export interface SqliteExecutor {
  execute(sql: string, params?: readonly SqliteValue[]): Promise<SqliteResult>;
  /** Runs the statements in order in one round trip; repeated SQL reuses one prepared statement. */
  executeBatch(
    statements: readonly SqliteStatement[],
    options?: SqliteBatchOptions,
  ): Promise<SqliteResult[]>;
}

/**
 * One SQLite connection as an engine exposes it (in-process, or the far side
 * of a worker). Async, batched, plain data in and out; no locking across calls.
 * Wrap it with {@link createSqliteDriver} to get a {@link SqliteDriver}.
 */
export interface SqliteConnection extends SqliteExecutor {
  open(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The SQLite driver all replica code runs on: one connection, serialized.
 * `execute` and `executeBatch` wait while an `exclusive` section (such as a
 * kysely transaction) holds the connection, so statements of two units of
 * work never interleave.
 */
export interface SqliteDriver extends SqliteConnection {
  /**
   * Runs `fn` with the connection to itself: every other call waits until the
   * promise `fn` returns settles. Inside, use the `executor` given, never the
   * driver itself (that would wait for `fn`, forever).
   */
  exclusive<T>(fn: (executor: SqliteExecutor) => Promise<T>): Promise<T>;
}

/** What went wrong in a driver, as a stable string a program can switch on. */
export type SqliteDriverErrorCode =
  | 'sqlite'
  | 'closed'
  | 'crashed'
  | 'invalid_parameter'
  | 'unsupported';

/**
 * An error from a SQLite driver. `sqliteCode` is SQLite's result code when
 * SQLite itself failed; `statementIndex` says which statement of a batch.
 *
 * @example
 * ```ts
 * try { await driver.execute('INSERT INTO t VALUES (1)') } catch (e) {
 *   if (e instanceof SqliteDriverError && e.sqliteCode === 19) console.log('constraint');
 * }
 * ```
 */
export class SqliteDriverError extends Error {
  readonly code: SqliteDriverErrorCode;
  readonly sqliteCode: number | undefined;
  readonly statementIndex: number | undefined;

  constructor(
    code: SqliteDriverErrorCode,
    message: string,
    options: { cause?: unknown; sqliteCode?: number; statementIndex?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SqliteDriverError';
    this.code = code;
    this.sqliteCode = options.sqliteCode;
    this.statementIndex = options.statementIndex;
  }
}

/**
 * Turns a bare connection into a {@link SqliteDriver}: opens it on first use
 * and serializes every call behind one lock, which `exclusive` holds across
 * several calls.
 *
 * @example
 * ```ts
 * const driver = createSqliteDriver(connection);
 * await driver.exclusive(async (tx) => {
 *   await tx.execute('BEGIN');
 *   await tx.execute('INSERT INTO t VALUES (?)', [1]);
 *   await tx.execute('COMMIT');
 * });
 * ```
 */
export function createSqliteDriver(connection: SqliteConnection): SqliteDriver {
  const mutex = new AsyncMutex();
  let opening: Promise<void> | undefined;
  let closed = false;

  const ensureOpen = (): Promise<void> => {
    if (closed) {
      return Promise.reject(
        new SqliteDriverError('closed', 'The SQLite driver is closed: open a new driver.'),
      );
    }
    opening ??= connection.open().catch((error: unknown) => {
      opening = undefined; // let a later call retry
      throw error;
    });
    return opening;
  };

  const executor: SqliteExecutor = {
    execute: (sql, params) => connection.execute(sql, params),
    executeBatch: (statements, options) => connection.executeBatch(statements, options),
  };

  const exclusive = <T>(fn: (executor: SqliteExecutor) => Promise<T>): Promise<T> =>
    mutex.run(async () => {
      await ensureOpen();
      return fn(executor);
    });

  return {
    open: () => mutex.run(ensureOpen),
    execute: (sql, params) => exclusive((ex) => ex.execute(sql, params)),
    executeBatch: (statements, options) => exclusive((ex) => ex.executeBatch(statements, options)),
    exclusive,
    close: () =>
      mutex.run(async () => {
        if (closed) return;
        closed = true;
        if (opening) await connection.close();
      }),
  };
}
