import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as SQLite from '@journeyapps/wa-sqlite';
import SQLiteESMFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite.mjs';
import {
  type SqliteBatchOptions,
  type SqliteConnection,
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

let vfsCounter = 0;

/**
 * The connection behind `memoryDriver` (memory-driver.ts): one wa-sqlite
 * connection on a memory store, with its own VFS instance (so it can be
 * killed alone). Calls are queued: SQLite statements are stepped across
 * awaits and must not interleave.
 */
export class WaSqliteConnection implements SqliteConnection {
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
