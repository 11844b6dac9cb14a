import * as SQLite from '@journeyapps/wa-sqlite';
import {
  type SqliteBatchOptions,
  SqliteDriverError,
  type SqliteResult,
  type SqliteRow,
  type SqliteStatement,
  type SqliteValue,
} from './sqlite-driver.ts';

/**
 * The Emscripten module of the synchronous wa-sqlite build, with the calls
 * used beyond its SQLiteAPI wrapper.
 */
export interface WaSqliteModule {
  readonly HEAPU8: Uint8Array;
  getTempRet0(): number;
  _sqlite3_stmt_readonly(stmt: number): number;
  _sqlite3_total_changes(db: number): number;
  _sqlite3_bind_zeroblob(stmt: number, index: number, bytes: number): number;
  _sqlite3_bind_text(
    stmt: number,
    index: number,
    text: number,
    bytes: number,
    free: number,
  ): number;
  _sqlite3_malloc(bytes: number): number;
  _sqlite3_free(pointer: number): void;
}

/** SQLite copies the text before the bind call returns (`SQLITE_TRANSIENT`). */
const SQLITE_TRANSIENT = -1;
const encoder = new TextEncoder();

/** Texts up to this length are copied by a JS loop when ASCII: cheaper than a call to `encodeInto`. */
const SHORT_TEXT = 64;

/**
 * Binds text parameters through one buffer in the wasm heap, reused: the
 * text is encoded straight into it and SQLite copies it. wa-sqlite's
 * `bind_text` makes a new array, a `malloc` and a copy per value: 15% of a
 * 100k-row first download in Node was that. Short ASCII texts (ids, names,
 * numbers as text: most values) are copied byte by byte; the rest go
 * through `encodeInto`, whose call costs more than a short copy (in
 * Chromium's worker, 500 ms of a 100k-row first download).
 */
class TextBinder {
  #pointer = 0;
  #capacity = 0;
  /** The buffer, as a view of the heap it lives in (a grown heap is a new one). */
  #view: Uint8Array | undefined;

  constructor(private readonly module: WaSqliteModule) {}

  bind(stmt: number, index: number, text: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = text.length * 3;
    // Allocated even for '': a null pointer would bind NULL.
    if (this.#pointer === 0 || most > this.#capacity) {
      const capacity = Math.max(most, 2 * this.#capacity, 4_096);
      const pointer = this.module._sqlite3_malloc(capacity);
      if (pointer === 0) return SQLite.SQLITE_NOMEM;
      if (this.#pointer !== 0) this.module._sqlite3_free(this.#pointer);
      this.#pointer = pointer;
      this.#capacity = capacity;
      this.#view = undefined;
    }
    // HEAPU8 is read after malloc, which may have grown (replaced) the heap.
    const heap = this.module.HEAPU8;
    let view = this.#view;
    if (view === undefined || view.buffer !== heap.buffer) {
      view = heap.subarray(this.#pointer, this.#pointer + this.#capacity);
      this.#view = view;
    }
    const length = text.length;
    if (length <= SHORT_TEXT) {
      let i = 0;
      for (; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        view[i] = code;
      }
      if (i === length) {
        return this.module._sqlite3_bind_text(stmt, index, this.#pointer, length, SQLITE_TRANSIENT);
      }
    }
    const { written } = encoder.encodeInto(text, view);
    return this.module._sqlite3_bind_text(stmt, index, this.#pointer, written, SQLITE_TRANSIENT);
  }

  /** Frees the buffer (the runner is done with the connection). */
  free(): void {
    if (this.#pointer !== 0) this.module._sqlite3_free(this.#pointer);
    this.#pointer = 0;
    this.#capacity = 0;
    this.#view = undefined;
  }
}

/** A loaded wa-sqlite: the module and the API over it. */
export interface WaSqlite {
  readonly module: WaSqliteModule;
  readonly sqlite3: SQLiteAPI;
}

/**
 * What one statement produced, rows as arrays of values in column order:
 * cheaper to build, and to `postMessage`, than one object per row.
 */
export interface SqliteArrayResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly SqliteValue[])[];
  readonly changes: number;
  readonly lastInsertRowid?: number | bigint;
}

/** Options of {@link WaSqliteRunner}. */
export interface WaSqliteRunnerOptions {
  /**
   * True once the files under the connection are gone (a crashed VFS): a
   * failed batch is then not rolled back, and `failure` explains the error.
   */
  readonly isDead?: () => boolean;
  /** Replaces the default error of a failed statement; `undefined` keeps it. */
  readonly failure?: (
    error: unknown,
    statement: { readonly sql: string; readonly statementIndex: number | undefined },
  ) => SqliteDriverError | undefined;
}

interface Prepared {
  readonly stmt: number;
  readonly paramCount: number;
  readonly readonly: boolean;
}

/** One frozen empty array for every write: a 100k-statement batch keeps all its results. */
export const NONE: readonly never[] = Object.freeze([]);

/** How many distinct SQL strings keep their prepared statements between calls. */
const STATEMENT_CACHE_SIZE = 128;

/**
 * Runs SQL on one open wa-sqlite connection: binding, int64 and blob
 * decoding, an LRU of prepared statements, atomic batches. Shared by the Node
 * memory driver and the browser worker; the caller serializes calls (a
 * statement is stepped across awaits).
 */
export class WaSqliteRunner {
  readonly #api: WaSqlite;
  readonly #db: number;
  readonly #options: WaSqliteRunnerOptions;
  /** LRU by insertion order: a hit is moved to the end. */
  readonly #cache = new Map<string, Prepared>();
  readonly #text: TextBinder;

  constructor(api: WaSqlite, db: number, options: WaSqliteRunnerOptions = {}) {
    this.#api = api;
    this.#db = db;
    this.#options = options;
    this.#text = new TextBinder(api.module);
  }

  /** Runs one SQL string (several statements when it has no parameters). */
  async run(
    sql: string,
    params: readonly SqliteValue[] = [],
    statementIndex?: number,
  ): Promise<SqliteArrayResult> {
    const cached = this.#cache.get(sql);
    if (cached) {
      this.#cache.delete(sql); // move to the young end of the LRU
      this.#cache.set(sql, cached);
      return this.#step(cached, sql, params, statementIndex);
    }
    const { sqlite3, module } = this.#api;
    // Statements of a script are prepared one after another, each after the
    // previous ran: `CREATE TABLE t ...; INSERT INTO t ...` needs t to exist.
    const prepared: Prepared[] = [];
    let result: SqliteArrayResult = { rows: NONE, columns: NONE, changes: 0 };
    try {
      for await (const stmt of sqlite3.statements(this.#db, sql, { unscoped: true })) {
        const next: Prepared = {
          stmt,
          paramCount: sqlite3.bind_parameter_count(stmt),
          readonly: module._sqlite3_stmt_readonly(stmt) !== 0,
        };
        prepared.push(next);
        if (prepared.length > 1 && params.length > 0) {
          throw new SqliteDriverError(
            'invalid_parameter',
            'Parameters were given for SQL holding several statements: pass one statement per call (or use executeBatch).',
            statementIndex === undefined ? {} : { statementIndex },
          );
        }
        result = await this.#step(next, sql, params, statementIndex);
      }
    } catch (error) {
      for (const { stmt } of prepared) await sqlite3.finalize(stmt);
      throw this.#wrap(error, sql, statementIndex);
    }
    const [single] = prepared;
    if (single && prepared.length === 1) {
      this.#cache.set(sql, single);
      if (this.#cache.size > STATEMENT_CACHE_SIZE) {
        const [oldest, evicted] = this.#cache.entries().next().value as [string, Prepared];
        this.#cache.delete(oldest);
        await sqlite3.finalize(evicted.stmt);
      }
    } else {
      for (const { stmt } of prepared) await sqlite3.finalize(stmt);
    }
    return result;
  }

  /** Runs statements in order; with `transaction`, all or nothing (see {@link SqliteBatchOptions}). */
  async runBatch(
    statements: readonly SqliteStatement[],
    options: SqliteBatchOptions = {},
  ): Promise<SqliteArrayResult[]> {
    if (!options.transaction) return this.#runAll(statements);
    // Inside an open transaction (say, a kysely one) a savepoint gives the
    // same all-or-nothing without ending the outer transaction.
    const nested = this.#api.sqlite3.get_autocommit(this.#db) === 0;
    await this.run(nested ? 'SAVEPOINT carburetor_batch' : 'BEGIN');
    let results: SqliteArrayResult[];
    try {
      results = await this.#runAll(statements);
      await this.run(nested ? 'RELEASE carburetor_batch' : 'COMMIT');
    } catch (error) {
      if (!this.#options.isDead?.()) {
        await this.run(nested ? 'ROLLBACK TO carburetor_batch' : 'ROLLBACK').catch(() => {});
        if (nested) await this.run('RELEASE carburetor_batch').catch(() => {});
      }
      throw error;
    }
    return results;
  }

  /** Finalizes every cached statement: call before closing the connection. */
  async finalizeAll(): Promise<void> {
    const all = [...this.#cache.values()];
    this.#cache.clear();
    for (const prepared of all) await this.#api.sqlite3.finalize(prepared.stmt);
    this.#text.free();
  }

  async #runAll(statements: readonly SqliteStatement[]): Promise<SqliteArrayResult[]> {
    const results: SqliteArrayResult[] = [];
    for (let index = 0; index < statements.length; index++) {
      const statement = statements[index]!;
      results.push(await this.run(statement.sql, statement.params ?? [], index));
    }
    return results;
  }

  async #step(
    prepared: Prepared,
    sql: string,
    params: readonly SqliteValue[],
    statementIndex: number | undefined,
  ): Promise<SqliteArrayResult> {
    const { sqlite3, module } = this.#api;
    const { stmt } = prepared;
    try {
      bindParams(this.#api, this.#text, stmt, prepared.paramCount, params, statementIndex);
      const before = prepared.readonly ? 0 : module._sqlite3_total_changes(this.#db);
      let code = await sqlite3.step(stmt);
      // Names are read after the first step: a schema change re-prepares the
      // statement inside step() and may change them.
      const columns = sqlite3.column_count(stmt) > 0 ? sqlite3.column_names(stmt) : NONE;
      // Writes share one frozen empty array: a 100k-statement batch keeps
      // every result alive, and two fresh arrays each cost ~10% of its time.
      let rows: readonly (readonly SqliteValue[])[] = NONE;
      if (code === SQLite.SQLITE_ROW) {
        const read: SqliteValue[][] = [];
        while (code === SQLite.SQLITE_ROW) {
          read.push(readRow(this.#api, stmt, columns.length));
          code = await sqlite3.step(stmt);
        }
        rows = read;
      }
      // sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE,
      // so DDL and pragmas would report a stale one: trust it only when the
      // total moved.
      if (prepared.readonly || module._sqlite3_total_changes(this.#db) === before) {
        return { rows, columns, changes: 0 };
      }
      const lo = sqlite3.last_insert_id(this.#db);
      return {
        rows,
        columns,
        changes: sqlite3.changes(this.#db),
        lastInsertRowid: toInteger(lo, module.getTempRet0()),
      };
    } catch (error) {
      throw this.#wrap(error, sql, statementIndex);
    } finally {
      // reset() rethrows the step's error code; the step already reported it.
      await sqlite3.reset(stmt).catch(() => undefined);
    }
  }

  #wrap(error: unknown, sql: string, statementIndex: number | undefined): Error {
    if (error instanceof SqliteDriverError) return error;
    return (
      this.#options.failure?.(error, { sql, statementIndex }) ??
      sqliteError(error, sql, statementIndex)
    );
  }
}

/**
 * The driver error for something SQLite (or the wasm around it) threw,
 * carrying SQLite's result code and the statement's place in a batch.
 */
export function sqliteError(
  error: unknown,
  sql: string,
  statementIndex: number | undefined,
): SqliteDriverError {
  if (error instanceof SqliteDriverError) return error;
  const sqliteCode = error instanceof SQLite.SQLiteError ? Number(error.code) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new SqliteDriverError(
    'sqlite',
    `SQLite failed${describeIndex(statementIndex)}: ${message}. SQL: ${shortSql(sql)}`,
    {
      cause: error,
      ...(sqliteCode === undefined ? {} : { sqliteCode }),
      ...(statementIndex === undefined ? {} : { statementIndex }),
    },
  );
}

/** ` (statement 3 of the batch)`, or nothing outside a batch. */
export function describeIndex(statementIndex: number | undefined): string {
  return statementIndex === undefined ? '' : ` (statement ${statementIndex} of the batch)`;
}

/** SQL cut to a length fit for an error message. */
export function shortSql(sql: string): string {
  return sql.length > 200 ? `${sql.slice(0, 200)}…` : sql;
}

/** Turns array rows into the keyed rows of {@link SqliteResult}. */
export function toSqliteResult(result: SqliteArrayResult): SqliteResult {
  const { columns, changes, lastInsertRowid } = result;
  let rows: readonly SqliteRow[] = NONE;
  if (result.rows.length > 0) {
    rows = result.rows.map((values) => {
      const row: SqliteRow = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i] ?? null;
      return row;
    });
  }
  return lastInsertRowid === undefined
    ? { rows, columns, changes }
    : { rows, columns, changes, lastInsertRowid };
}

function bindParams(
  { sqlite3, module }: WaSqlite,
  text: TextBinder,
  stmt: number,
  count: number,
  params: readonly SqliteValue[],
  statementIndex: number | undefined,
): void {
  if (params.length > count) {
    throw new SqliteDriverError(
      'invalid_parameter',
      `${params.length} parameters were given for a statement that takes ${count}.`,
      statementIndex === undefined ? {} : { statementIndex },
    );
  }
  for (let i = 0; i < count; i++) {
    const value: unknown = params[i] ?? null;
    const at = i + 1;
    if (value === null) sqlite3.bind_null(stmt, at);
    else if (typeof value === 'string') {
      const code = text.bind(stmt, at, value);
      if (code !== SQLite.SQLITE_OK) {
        throw new SQLite.SQLiteError(`sqlite3_bind_text failed with code ${code}`, code);
      }
    } else if (typeof value === 'number') {
      if (Number.isInteger(value) && (value | 0) === value) sqlite3.bind_int(stmt, at, value);
      // Safe integers beyond 32 bits stay integers (bind() would store a REAL).
      else if (Number.isSafeInteger(value)) sqlite3.bind_int64(stmt, at, BigInt(value));
      else sqlite3.bind_double(stmt, at, value);
    } else if (typeof value === 'bigint') sqlite3.bind_int64(stmt, at, value);
    else if (value instanceof Uint8Array) {
      // bind_blob() of zero bytes passes a null pointer, which SQLite stores as NULL.
      if (value.byteLength === 0) module._sqlite3_bind_zeroblob(stmt, at, 0);
      else sqlite3.bind_blob(stmt, at, value);
    } else if (typeof value === 'boolean') sqlite3.bind_int(stmt, at, value ? 1 : 0);
    else {
      throw new SqliteDriverError(
        'invalid_parameter',
        `Parameter ${at} is a ${describeValue(value)}, which SQLite cannot store: pass null, a number, a bigint, a string or a Uint8Array.`,
        statementIndex === undefined ? {} : { statementIndex },
      );
    }
  }
}

function readRow({ sqlite3, module }: WaSqlite, stmt: number, count: number): SqliteValue[] {
  const row: SqliteValue[] = [];
  for (let i = 0; i < count; i++) {
    switch (sqlite3.column_type(stmt, i)) {
      case SQLite.SQLITE_INTEGER: {
        // column_int() returns the low half of the int64; the high half is
        // in tempRet0. Together they are exact, whatever the size.
        const lo = sqlite3.column_int(stmt, i);
        row.push(toInteger(lo, module.getTempRet0()));
        break;
      }
      case SQLite.SQLITE_FLOAT:
        row.push(sqlite3.column_double(stmt, i));
        break;
      case SQLite.SQLITE_TEXT:
        row.push(sqlite3.column_text(stmt, i));
        break;
      case SQLite.SQLITE_BLOB:
        // A view into the wasm heap: copy before the next step overwrites it.
        row.push(sqlite3.column_blob(stmt, i).slice());
        break;
      default:
        row.push(null);
    }
  }
  return row;
}

const HI_SAFE = 0x1fffff; // Number.MAX_SAFE_INTEGER >> 32

/** Joins an int64's halves into a number when exact, else a bigint. */
export function toInteger(lo: number, hi: number): number | bigint {
  if (hi <= HI_SAFE && hi >= -HI_SAFE - 1) {
    const value = hi * 0x100000000 + (lo >>> 0);
    // -2^53 is exact but not safe: callers may rely on isSafeInteger.
    if (Number.isSafeInteger(value)) return value;
  }
  return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'object';
  return typeof value;
}
