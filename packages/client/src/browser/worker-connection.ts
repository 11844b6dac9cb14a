import { SqliteDriverError } from '../driver/sqlite-driver.ts';
import { cloneError, fromWire } from './wire-error.ts';
import type {
  OpfsFallback,
  OpfsStorage,
  WorkerOp,
  WorkerOps,
  WorkerRequest,
  WorkerResponse,
} from './worker-protocol.ts';

/** How long `close()` waits for the worker's clean SQLite close before terminating it. */
const CLOSE_GRACE_MS = 2_000;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** A closed worker's answer to every later call. */
export function closedError(name: string): SqliteDriverError {
  return new SqliteDriverError(
    'closed',
    `The replica "${name}" is closed: create a new driver with opfsDriver({ name: "${name}" }).`,
  );
}

/**
 * The page's side of the SQLite worker: requests by id, answers matched
 * back. Only the tab that owns the replica runs one.
 */
export class WorkerConnection {
  readonly #name: string;
  readonly #fallback: OpfsFallback | undefined;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #failure: SqliteDriverError | undefined;
  #nextId = 1;
  storage: OpfsStorage | undefined;

  constructor(name: string, fallback: OpfsFallback | undefined) {
    this.#name = name;
    this.#fallback = fallback;
  }

  async open(): Promise<void> {
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
        this.#pending.delete(id);
        reject(cloneError(error, 'the worker'));
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
      else pending.reject(fromWire(response.error));
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
