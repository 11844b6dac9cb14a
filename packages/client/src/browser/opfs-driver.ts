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
import { toSqliteResult } from '../driver/wa-sqlite-runner.ts';
import type {
  OpfsStorage,
  WorkerOp,
  WorkerOps,
  WorkerRequest,
  WorkerResponse,
} from './worker-protocol.ts';

/** Options of {@link opfsDriver}. */
export interface OpfsDriverOptions {
  /**
   * The replica's name: its file is `carburetor/<name>.sqlite3` in the
   * origin's private file system. Letters, digits, `.`, `_` and `-`.
   */
  readonly name: string;
  /**
   * What to do where OPFS with synchronous access handles is missing (a page
   * that is not a secure context, an old browser). Left out, `open()` fails
   * with code `unsupported`; `'memory'` keeps the replica in an in-memory
   * SQLite database in the worker instead, lost on reload: check
   * {@link OpfsDriver.storage} to tell the user.
   */
  readonly fallback?: 'memory';
}

/** A {@link SqliteDriver} whose SQLite runs in a dedicated web worker. */
export interface OpfsDriver extends SqliteDriver {
  /** The replica's name, as given. */
  readonly name: string;
  /**
   * Where the data lives once `open()` has resolved: `'opfs'` (survives
   * reloads and browser restarts) or `'memory'` (the fallback); `undefined`
   * before that.
   */
  readonly storage: OpfsStorage | undefined;
}

const NAME = /^[A-Za-z0-9._-]{1,200}$/;

interface Registered {
  readonly driver: OpfsDriver;
  readonly fallback: 'memory' | undefined;
}

/** One driver per name in this page: two workers on one OPFS file would lock each other out. */
const registry = new Map<string, Registered>();
/** Closes in flight, by name: a new driver for the name opens after it. */
const closing = new Map<string, Promise<void>>();
/** Each driver's worker connection, for {@link measureRawInserts}. */
const connections = new WeakMap<OpfsDriver, WorkerConnection>();
/** How long `close()` waits for the worker's clean SQLite close before terminating it. */
const CLOSE_GRACE_MS = 2_000;

/**
 * The browser replica driver: SQLite (wa-sqlite) in a dedicated module
 * worker, storing the database in the Origin Private File System through
 * OPFSCoopSyncVFS, so the data survives reloads and browser restarts.
 *
 * Calling it again with the same name in the same page returns the same
 * driver (one worker per database file), so React StrictMode's double
 * effects are harmless; still, create it once at module level. The worker
 * starts on first use (`open()` or the first query), so calling this during
 * server-side rendering is safe. `close()` ends the worker; a later call with
 * the same name starts a new one.
 *
 * @example
 * ```ts
 * import { opfsDriver } from '@carburetor/client/browser';
 * import { createReplicaKysely } from '@carburetor/client';
 *
 * const driver = opfsDriver({ name: 'phone-book', fallback: 'memory' });
 * await driver.open();
 * if (driver.storage === 'memory') console.warn('Offline storage is unavailable here.');
 * const db = createReplicaKysely<DB>(driver);
 * ```
 */
export function opfsDriver(options: OpfsDriverOptions): OpfsDriver {
  const { name, fallback } = options;
  if (!NAME.test(name)) {
    throw new SqliteDriverError(
      'invalid_parameter',
      `opfsDriver: the name ${JSON.stringify(name)} is not usable as a file name: use 1 to 200 letters, digits, ".", "_" or "-".`,
    );
  }
  const existing = registry.get(name);
  if (existing) {
    if (existing.fallback !== fallback) {
      throw new SqliteDriverError(
        'invalid_parameter',
        `opfsDriver: the replica "${name}" is already open in this page with fallback ${String(existing.fallback)}; pass the same options (one driver per name and page).`,
      );
    }
    return existing.driver;
  }
  const connection = new WorkerConnection(name, fallback, closing.get(name));
  const inner = createSqliteDriver(connection);
  const driver: OpfsDriver = {
    ...inner,
    name,
    get storage() {
      return connection.storage;
    },
    close: () => {
      if (registry.get(name)?.driver === driver) registry.delete(name);
      const done = inner.close();
      const settled = done.catch(() => undefined);
      closing.set(name, settled);
      void settled.then(() => {
        if (closing.get(name) === settled) closing.delete(name);
      });
      return done;
    },
  };
  registry.set(name, { driver, fallback });
  connections.set(driver, connection);
  return driver;
}

/**
 * Benchmark hook: inserts `rows` with `sql` (one `?` per value) through the
 * bare wa-sqlite API inside the driver's worker, one prepared statement in
 * one transaction, and resolves to the milliseconds measured there. It is the
 * floor a download into the replica is compared with. Holds the driver's
 * lock while it runs.
 *
 * @example
 * ```ts
 * await driver.execute('CREATE TABLE raw (id INTEGER PRIMARY KEY, name TEXT)');
 * const ms = await measureRawInserts(driver, 'INSERT INTO raw VALUES (?, ?)', [[1, 'a'], [2, 'b']]);
 * ```
 */
export function measureRawInserts(
  driver: OpfsDriver,
  sql: string,
  rows: readonly (readonly SqliteValue[])[],
): Promise<number> {
  const connection = connections.get(driver);
  if (!connection) {
    return Promise.reject(
      new SqliteDriverError(
        'invalid_parameter',
        'measureRawInserts: pass a driver made by opfsDriver().',
      ),
    );
  }
  return driver.exclusive(() => connection.call('rawInsert', { sql, rows }));
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** A closed worker's answer to every later call. */
function closedError(name: string): SqliteDriverError {
  return new SqliteDriverError(
    'closed',
    `The replica "${name}" is closed: create a new driver with opfsDriver({ name: "${name}" }).`,
  );
}

/** The page's side of the worker: requests by id, answers matched back. */
class WorkerConnection implements SqliteConnection {
  readonly #name: string;
  readonly #fallback: 'memory' | undefined;
  readonly #after: Promise<void> | undefined;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #failure: SqliteDriverError | undefined;
  #nextId = 1;
  storage: OpfsStorage | undefined;

  constructor(name: string, fallback: 'memory' | undefined, after: Promise<void> | undefined) {
    this.#name = name;
    this.#fallback = fallback;
    this.#after = after;
  }

  async open(): Promise<void> {
    // A driver closed a moment ago may still hold the file.
    if (this.#after) await this.#after;
    if (typeof Worker === 'undefined') {
      throw new SqliteDriverError(
        'unsupported',
        `Cannot open the replica "${this.#name}": this environment has no Web Workers (server-side rendering?). Open the driver in the browser; use memoryDriver from @carburetor/client/node in Node.`,
      );
    }
    this.#failure = undefined;
    this.#worker = this.#start();
    try {
      this.storage = await this.call('open', { name: this.#name, fallback: this.#fallback });
    } catch (error) {
      this.#stop(closedError(this.#name));
      throw error;
    }
  }

  async execute(sql: string, params: readonly SqliteValue[] = []): Promise<SqliteResult> {
    return toSqliteResult(await this.call('execute', { sql, params }));
  }

  async executeBatch(
    statements: readonly SqliteStatement[],
    options: SqliteBatchOptions = {},
  ): Promise<SqliteResult[]> {
    const sqls: string[] = [];
    const indexBySql = new Map<string, number>();
    const which: number[] = [];
    const params: (readonly SqliteValue[])[] = [];
    for (const { sql, params: values } of statements) {
      let index = indexBySql.get(sql);
      if (index === undefined) {
        index = sqls.push(sql) - 1;
        indexBySql.set(sql, index);
      }
      which.push(index);
      params.push(values ?? []);
    }
    const results = await this.call('batch', {
      sqls,
      which,
      params,
      transaction: options.transaction ?? false,
    });
    return results.map(toSqliteResult);
  }

  async close(): Promise<void> {
    if (!this.#worker) return;
    try {
      // A clean SQLite close releases the OPFS access handle before the
      // worker goes; a wedged worker is terminated after a grace period.
      await Promise.race([
        this.call('close', {}),
        new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS)),
      ]);
    } finally {
      this.#stop(closedError(this.#name));
    }
  }

  call<K extends WorkerOp>(op: K, args: WorkerOps[K]['args']): Promise<WorkerOps[K]['result']> {
    const worker = this.#worker;
    if (!worker) return Promise.reject(this.#failure ?? closedError(this.#name));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      const request = { ...args, id, op } as WorkerRequest;
      try {
        worker.postMessage(request);
      } catch (error) {
        // DataCloneError: a parameter the structured clone cannot copy.
        this.#pending.delete(id);
        reject(
          new SqliteDriverError(
            'invalid_parameter',
            `Could not send the SQL to the worker: ${error instanceof Error ? error.message : String(error)}. Pass null, numbers, bigints, strings or Uint8Arrays.`,
            { cause: error },
          ),
        );
      }
    });
  }

  #start(): Worker {
    // Bundlers (Vite, webpack, Turbopack) find the worker by this exact
    // shape: `new Worker(new URL('<real .ts file>', import.meta.url), { type: 'module' })`.
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
      const response = event.data;
      const pending = this.#pending.get(response.id);
      if (!pending) return;
      this.#pending.delete(response.id);
      if (response.ok) pending.resolve(response.result);
      else {
        const { code, message, sqliteCode, statementIndex } = response.error;
        pending.reject(
          new SqliteDriverError(code, message, {
            ...(sqliteCode === undefined ? {} : { sqliteCode }),
            ...(statementIndex === undefined ? {} : { statementIndex }),
          }),
        );
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.#stop(
        new SqliteDriverError(
          'crashed',
          `The SQLite worker of the replica "${this.#name}" failed${event.message ? `: ${event.message}` : ' to load (is the bundler serving worker.ts and wa-sqlite.wasm? Vite needs optimizeDeps.exclude: ["@journeyapps/wa-sqlite"])'}. Create a new driver to retry.`,
        ),
      );
    };
    worker.onmessageerror = () => {
      this.#stop(
        new SqliteDriverError(
          'crashed',
          `A message from the SQLite worker of the replica "${this.#name}" could not be read.`,
        ),
      );
    };
    return worker;
  }

  /** Ends the worker now and fails whatever is still waiting for it. */
  #stop(reason: SqliteDriverError): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#failure = reason;
    for (const pending of this.#pending.values()) pending.reject(reason);
    this.#pending.clear();
  }
}
