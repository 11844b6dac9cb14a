import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as SQLite from '@journeyapps/wa-sqlite';
import SQLiteESMFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite.mjs';
import {
  createSqliteDriver,
  type SqliteBatchOptions,
  type SqliteConnection,
  type SqliteDriver,
  SqliteDriverError,
  type SqliteResult,
  type SqliteRow,
  type SqliteStatement,
  type SqliteValue,
} from '../driver/sqlite-driver.ts';
import { deleteMemoryImages, MemoryImageVFS, type WasmHeap } from './memory-vfs.ts';

/** The Emscripten module calls used beyond the SQLiteAPI wrapper. */
interface WaSqliteModule extends WasmHeap {
  getTempRet0(): number;
  _sqlite3_stmt_readonly(stmt: number): number;
  _sqlite3_total_changes(db: number): number;
  _sqlite3_bind_zeroblob(stmt: number, index: number, bytes: number): number;
}

interface WaSqlite {
  readonly module: WaSqliteModule;
  readonly sqlite3: SQLiteAPI;
}

let loading: Promise<WaSqlite> | undefined;

/** Compiles the synchronous wa-sqlite build once per process; every driver shares it. */
function loadWaSqlite(): Promise<WaSqlite> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    // Node has no fetch of file URLs for Emscripten: hand it the bytes.
    const wasmBinary = await readFile(
      require.resolve('@journeyapps/wa-sqlite/dist/wa-sqlite.wasm'),
    );
    const module = (await SQLiteESMFactory({ wasmBinary })) as WaSqliteModule;
    return { module, sqlite3: SQLite.Factory(module) };
  })().catch((error: unknown) => {
    loading = undefined;
    throw new SqliteDriverError(
      'sqlite',
      'Could not load the wa-sqlite WebAssembly build from @journeyapps/wa-sqlite/dist: is the package installed?',
      { cause: error },
    );
  });
  return loading;
}

/** Options of {@link memoryDriver}. */
export interface MemoryDriverOptions {
  /**
   * The store's name. Stores with a name outlive their driver (until the
   * process exits or {@link deleteMemoryStore}): a new driver with the same
   * name reopens it, after a clean close or a crash. Without a name the store
   * is private and vanishes on close.
   */
  readonly name?: string;
  /**
   * Fault injection for crash tests: the connection dies right after this
   * many file writes (the last one lands), as if the process were killed.
   */
  readonly crashAfterWrites?: number;
}

/** A {@link SqliteDriver} over an in-memory store that can be crashed and reopened. */
export interface MemoryDriver extends SqliteDriver {
  /** The store's name, generated when none was given. */
  readonly name: string;
  /** True once the connection crashed (by {@link MemoryDriver.crash} or `crashAfterWrites`). */
  readonly crashed: boolean;
  /**
   * Simulates the process dying now: the open transaction is neither
   * committed nor rolled back, there is no clean close, every later call
   * fails with code `crashed`. A new driver with the same name recovers only
   * committed data (SQLite replays the rollback journal left behind).
   */
  crash(): void;
}

let anonymousCounter = 0;
let vfsCounter = 0;

/**
 * wa-sqlite in Node over an in-memory store: the replica driver for Node
 * tests, scripts and servers. Foreign keys are on; the rollback journal is
 * kept with the store so a crash never exposes uncommitted writes.
 *
 * @example
 * ```ts
 * const driver = memoryDriver({ name: 'replica' });
 * await driver.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
 * driver.crash();
 * const again = memoryDriver({ name: 'replica' }); // sees only committed data
 * ```
 */
export function memoryDriver(options: MemoryDriverOptions = {}): MemoryDriver {
  const name = options.name ?? `anonymous-${++anonymousCounter}`;
  const connection = new WaSqliteConnection(`/${name}`, {
    crashAfterWrites: options.crashAfterWrites,
    deleteOnClose: options.name === undefined,
  });
  const driver = createSqliteDriver(connection);
  return {
    ...driver,
    name,
    get crashed() {
      return connection.crashed;
    },
    crash: () => connection.crash(),
  };
}

/**
 * Forgets a named memory store (its database and journal images). Close or
 * crash its drivers first.
 *
 * @example
 * ```ts
 * await driver.close();
 * deleteMemoryStore(driver.name);
 * ```
 */
export function deleteMemoryStore(name: string): void {
  deleteMemoryImages(`/${name}`);
}

interface Prepared {
  readonly stmt: number;
  readonly paramCount: number;
  readonly readonly: boolean;
}

const NONE: readonly never[] = Object.freeze([]);

/** How many distinct SQL strings keep their prepared statements between calls. */
const STATEMENT_CACHE_SIZE = 128;

/**
 * One wa-sqlite connection with its own VFS instance (so it can be killed
 * alone). Calls are queued: SQLite statements are stepped across awaits and
 * must not interleave.
 */
class WaSqliteConnection implements SqliteConnection {
  readonly #path: string;
  readonly #crashAfterWrites: number | undefined;
  readonly #deleteOnClose: boolean;
  #api: WaSqlite | undefined;
  #vfs: MemoryImageVFS | undefined;
  #db = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** LRU by insertion order: a hit is moved to the end. */
  readonly #cache = new Map<string, Prepared>();
  #state: 'new' | 'open' | 'closed' | 'crashed' = 'new';

  constructor(
    path: string,
    options: { crashAfterWrites: number | undefined; deleteOnClose: boolean },
  ) {
    this.#path = path;
    this.#crashAfterWrites = options.crashAfterWrites;
    this.#deleteOnClose = options.deleteOnClose;
  }

  get crashed(): boolean {
    return this.#state === 'crashed' || (this.#vfs?.dead ?? false);
  }

  open(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state === 'open') return;
      this.#check();
      const api = await loadWaSqlite();
      const vfs = new MemoryImageVFS(`carburetor-memory-${++vfsCounter}`, api.module, {
        ...(this.#crashAfterWrites === undefined
          ? {}
          : { crashAfterWrites: this.#crashAfterWrites }),
      });
      api.sqlite3.vfs_register(vfs, false);
      this.#api = api;
      this.#vfs = vfs;
      this.#db = await this.#sqliteCall(() =>
        api.sqlite3.open_v2(
          this.#path,
          SQLite.SQLITE_OPEN_CREATE | SQLite.SQLITE_OPEN_READWRITE,
          vfs.name,
        ),
      );
      this.#state = 'open';
      // DELETE keeps a real rollback journal image beside the database, which
      // is what recovers a crashed transaction; WAL would need shared memory.
      await this.#run('PRAGMA journal_mode = DELETE', [], undefined);
      await this.#run('PRAGMA foreign_keys = ON', [], undefined);
    });
  }

  execute(sql: string, params: readonly SqliteValue[] = []): Promise<SqliteResult> {
    return this.#serial(() => {
      this.#check();
      return this.#run(sql, params, undefined);
    });
  }

  executeBatch(
    statements: readonly SqliteStatement[],
    options: SqliteBatchOptions = {},
  ): Promise<SqliteResult[]> {
    return this.#serial(async () => {
      this.#check();
      const { sqlite3 } = this.#ready();
      if (!options.transaction) return this.#runAll(statements);
      // Inside an open transaction (say, a kysely one) a savepoint gives the
      // same all-or-nothing without ending the outer transaction.
      const nested = sqlite3.get_autocommit(this.#db) === 0;
      await this.#run(nested ? 'SAVEPOINT carburetor_batch' : 'BEGIN', [], undefined);
      let results: SqliteResult[];
      try {
        results = await this.#runAll(statements);
        await this.#run(nested ? 'RELEASE carburetor_batch' : 'COMMIT', [], undefined);
      } catch (error) {
        if (!this.crashed) {
          await this.#run(
            nested ? 'ROLLBACK TO carburetor_batch' : 'ROLLBACK',
            [],
            undefined,
          ).catch(() => undefined);
          if (nested) await this.#run('RELEASE carburetor_batch', [], undefined).catch(() => {});
        }
        throw error;
      }
      return results;
    });
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.crashed) {
        this.crash(); // frees a handle whose VFS died under it
        return;
      }
      if (this.#state !== 'open') {
        this.#state = 'closed';
        return;
      }
      this.#state = 'closed';
      const { sqlite3 } = this.#ready();
      await this.#finalizeAll();
      await sqlite3.close(this.#db);
      if (this.#deleteOnClose) deleteMemoryImages(this.#path);
    });
  }

  /** Drops the connection now, outside the queue: a crash does not wait. */
  crash(): void {
    if (this.#state === 'crashed' || this.#state === 'closed') return;
    // A VFS killed by crashAfterWrites lands here too, with the state still 'open'.
    const wasOpen = this.#state === 'open';
    this.#state = 'crashed';
    this.#vfs?.kill();
    if (!wasOpen || !this.#api) return;
    // Free the handle's wasm memory. Its files are gone, so whatever SQLite
    // tries on close (a rollback) cannot reach the images.
    const { sqlite3 } = this.#api;
    const db = this.#db;
    void this.#finalizeAll()
      .then(() => sqlite3.close(db))
      .catch(() => undefined);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(fn);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #check(): void {
    if (this.crashed) {
      this.crash();
      throw new SqliteDriverError(
        'crashed',
        `The memory store "${this.#path.slice(1)}" crashed: open a new driver with the same name to recover it.`,
      );
    }
    if (this.#state === 'closed') {
      throw new SqliteDriverError('closed', 'The SQLite connection is closed.');
    }
  }

  #ready(): WaSqlite {
    if (!this.#api) throw new SqliteDriverError('closed', 'The SQLite connection is not open.');
    return this.#api;
  }

  async #runAll(statements: readonly SqliteStatement[]): Promise<SqliteResult[]> {
    const results: SqliteResult[] = [];
    for (let index = 0; index < statements.length; index++) {
      const statement = statements[index]!;
      results.push(await this.#run(statement.sql, statement.params ?? [], index));
    }
    return results;
  }

  async #run(
    sql: string,
    params: readonly SqliteValue[],
    statementIndex: number | undefined,
  ): Promise<SqliteResult> {
    const cached = this.#cache.get(sql);
    if (cached) {
      this.#cache.delete(sql); // move to the young end of the LRU
      this.#cache.set(sql, cached);
      return this.#step(cached, sql, params, statementIndex);
    }
    const { sqlite3, module } = this.#ready();
    // Statements of a script are prepared one after another, each after the
    // previous ran: `CREATE TABLE t ...; INSERT INTO t ...` needs t to exist.
    const prepared: Prepared[] = [];
    let result: SqliteResult = { rows: NONE, columns: NONE, changes: 0 };
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

  async #step(
    prepared: Prepared,
    sql: string,
    params: readonly SqliteValue[],
    statementIndex: number | undefined,
  ): Promise<SqliteResult> {
    const { sqlite3, module } = this.#ready();
    const { stmt } = prepared;
    try {
      this.#bind(stmt, prepared.paramCount, params, statementIndex);
      const before = prepared.readonly ? 0 : module._sqlite3_total_changes(this.#db);
      let code = await sqlite3.step(stmt);
      // Names are read after the first step: a schema change re-prepares the
      // statement inside step() and may change them.
      const columns = sqlite3.column_count(stmt) > 0 ? sqlite3.column_names(stmt) : NONE;
      // Writes share one frozen empty array: a 100k-statement batch keeps
      // every result alive, and two fresh arrays each cost ~10% of its time.
      let rows: readonly SqliteRow[] = NONE;
      if (code === SQLite.SQLITE_ROW) {
        const read: SqliteRow[] = [];
        while (code === SQLite.SQLITE_ROW) {
          read.push(this.#row(stmt, columns));
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

  #bind(
    stmt: number,
    count: number,
    params: readonly SqliteValue[],
    statementIndex: number | undefined,
  ): void {
    const { sqlite3, module } = this.#ready();
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
      else if (typeof value === 'string') sqlite3.bind_text(stmt, at, value);
      else if (typeof value === 'number') {
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
          `Parameter ${at} is a ${describe(value)}, which SQLite cannot store: pass null, a number, a bigint, a string or a Uint8Array.`,
          statementIndex === undefined ? {} : { statementIndex },
        );
      }
    }
  }

  #row(stmt: number, columns: readonly string[]): SqliteRow {
    const { sqlite3, module } = this.#ready();
    const row: SqliteRow = {};
    for (let i = 0; i < columns.length; i++) {
      let value: SqliteValue;
      switch (sqlite3.column_type(stmt, i)) {
        case SQLite.SQLITE_INTEGER: {
          // column_int() returns the low half of the int64; the high half is
          // in tempRet0. Together they are exact, whatever the size.
          const lo = sqlite3.column_int(stmt, i);
          value = toInteger(lo, module.getTempRet0());
          break;
        }
        case SQLite.SQLITE_FLOAT:
          value = sqlite3.column_double(stmt, i);
          break;
        case SQLite.SQLITE_TEXT:
          value = sqlite3.column_text(stmt, i);
          break;
        case SQLite.SQLITE_BLOB:
          // A view into the wasm heap: copy before the next step overwrites it.
          value = sqlite3.column_blob(stmt, i).slice();
          break;
        default:
          value = null;
      }
      row[columns[i]!] = value;
    }
    return row;
  }

  async #finalizeAll(): Promise<void> {
    const api = this.#api;
    if (!api) return;
    const all = [...this.#cache.values()];
    this.#cache.clear();
    for (const prepared of all) await api.sqlite3.finalize(prepared.stmt);
  }

  async #sqliteCall<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.#wrap(error, 'open', undefined);
    }
  }

  #wrap(error: unknown, sql: string, statementIndex: number | undefined): Error {
    if (error instanceof SqliteDriverError) return error;
    const where = statementIndex === undefined ? '' : ` (statement ${statementIndex} of the batch)`;
    const short = sql.length > 200 ? `${sql.slice(0, 200)}…` : sql;
    if (this.crashed) {
      this.crash();
      return new SqliteDriverError(
        'crashed',
        `The memory store "${this.#path.slice(1)}" crashed while running ${short}${where}: open a new driver with the same name to recover it.`,
        { cause: error, ...(statementIndex === undefined ? {} : { statementIndex }) },
      );
    }
    const sqliteCode = error instanceof SQLite.SQLiteError ? Number(error.code) : undefined;
    const message = error instanceof Error ? error.message : String(error);
    return new SqliteDriverError('sqlite', `SQLite failed${where}: ${message}. SQL: ${short}`, {
      cause: error,
      ...(sqliteCode === undefined ? {} : { sqliteCode }),
      ...(statementIndex === undefined ? {} : { statementIndex }),
    });
  }
}

const HI_SAFE = 0x1fffff; // Number.MAX_SAFE_INTEGER >> 32

/** Joins an int64's halves into a number when exact, else a bigint. */
function toInteger(lo: number, hi: number): number | bigint {
  if (hi <= HI_SAFE && hi >= -HI_SAFE - 1) {
    const value = hi * 0x100000000 + (lo >>> 0);
    // -2^53 is exact but not safe: callers may rely on isSafeInteger.
    if (Number.isSafeInteger(value)) return value;
  }
  return (BigInt(hi) << 32n) | BigInt(lo >>> 0);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'object';
  return typeof value;
}
