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
  type SqliteStatement,
  type SqliteValue,
} from '../driver/sqlite-driver.ts';
import {
  describeIndex,
  shortSql,
  sqliteError,
  toSqliteResult,
  type WaSqlite,
  type WaSqliteModule,
  WaSqliteRunner,
} from '../driver/wa-sqlite-runner.ts';
import { deleteMemoryImages, MemoryImageVFS } from './memory-vfs.ts';

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
  #runner: WaSqliteRunner | undefined;
  #db = 0;
  #queue: Promise<unknown> = Promise.resolve();
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
      try {
        this.#db = await api.sqlite3.open_v2(
          this.#path,
          SQLite.SQLITE_OPEN_CREATE | SQLite.SQLITE_OPEN_READWRITE,
          vfs.name,
        );
      } catch (error) {
        throw this.#failure(error, 'open', undefined) ?? sqliteError(error, 'open', undefined);
      }
      this.#runner = new WaSqliteRunner(api, this.#db, {
        isDead: () => this.crashed,
        failure: (error, { sql, statementIndex }) => this.#failure(error, sql, statementIndex),
      });
      this.#state = 'open';
      // DELETE keeps a real rollback journal image beside the database, which
      // is what recovers a crashed transaction; WAL would need shared memory.
      await this.#runner.run('PRAGMA journal_mode = DELETE');
      await this.#runner.run('PRAGMA foreign_keys = ON');
    });
  }

  execute(sql: string, params: readonly SqliteValue[] = []): Promise<SqliteResult> {
    return this.#serial(async () => toSqliteResult(await this.#ready().run(sql, params)));
  }

  executeBatch(
    statements: readonly SqliteStatement[],
    options: SqliteBatchOptions = {},
  ): Promise<SqliteResult[]> {
    return this.#serial(async () =>
      (await this.#ready().runBatch(statements, options)).map(toSqliteResult),
    );
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
      await this.#runner?.finalizeAll();
      await this.#api?.sqlite3.close(this.#db);
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
    if (!wasOpen || !this.#api || !this.#runner) return;
    // Free the handle's wasm memory. Its files are gone, so whatever SQLite
    // tries on close (a rollback) cannot reach the images.
    const { sqlite3 } = this.#api;
    const db = this.#db;
    void this.#runner
      .finalizeAll()
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

  #ready(): WaSqliteRunner {
    this.#check();
    if (!this.#runner) throw new SqliteDriverError('closed', 'The SQLite connection is not open.');
    return this.#runner;
  }

  /** A crash explains any failure after it; other failures keep the default error. */
  #failure(
    error: unknown,
    sql: string,
    statementIndex: number | undefined,
  ): SqliteDriverError | undefined {
    if (!this.crashed) return undefined;
    this.crash();
    return new SqliteDriverError(
      'crashed',
      `The memory store "${this.#path.slice(1)}" crashed while running ${shortSql(sql)}${describeIndex(statementIndex)}: open a new driver with the same name to recover it.`,
      { cause: error, ...(statementIndex === undefined ? {} : { statementIndex }) },
    );
  }
}
