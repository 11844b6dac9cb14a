import { AsyncMutex } from '../driver/async-mutex.ts';
import type {
  SqliteBatchOptions,
  SqliteExecutor,
  SqliteResult,
  SqliteStatement,
  SqliteValue,
} from '../driver/sqlite-driver.ts';
import { toSqliteResult } from '../driver/wa-sqlite-runner.ts';
import type { ChangeChannel, SyncLeadership } from '../sync/shared-replica.ts';
import { ChangeBroadcast } from './change-broadcast.ts';
import { OwnerRelay } from './owner-relay.ts';
import { MOVED, RemoteCalls } from './remote-calls.ts';
import { type Route, TabElection } from './tab-election.ts';
import { names, type RelayOp, type TabMessage, type TabNames } from './tab-protocol.ts';
import { executorOver, packBatch } from './worker-calls.ts';
import { closedError } from './worker-connection.ts';
import type { OpfsFallback, OpfsStorage, WorkerOps } from './worker-protocol.ts';

/** A caller's exclusive section, as its tab tracks it. */
interface Section {
  readonly id: number;
  /** The owner that serves it, once its first call has gone out. */
  owner: string | undefined;
}

/** A random id for this tab (crypto.randomUUID exists only in secure contexts). */
function tabId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
}

/**
 * One replica shared by every tab of an origin: the driver's calls, sent
 * where the database is. Which tab owns it is the election's
 * (tab-election.ts); the owner serves the others' calls (owner-relay.ts),
 * which they send and wait for (remote-calls.ts); change events go to every
 * tab (change-broadcast.ts). See README.md ("Several tabs") for the
 * guarantees.
 */
export class SharedDatabase {
  readonly #name: string;
  readonly #names: TabNames;
  readonly #tabId = tabId();
  /** This tab's order: sections and calls, and (when owner) other tabs' sections, one at a time. */
  readonly #mutex = new AsyncMutex();
  readonly #election: TabElection;
  readonly #calls: RemoteCalls;
  readonly #relay: OwnerRelay;
  readonly #changes: ChangeBroadcast;

  #closed = false;
  #closing = false;
  #nextSection = 1;

  readonly leadership: SyncLeadership = {
    isLeader: () => this.isOwner,
    subscribe: (listener) => this.onOwnershipChange(listener),
  };

  readonly changeChannel: ChangeChannel;

  constructor(name: string, fallback: OpfsFallback | undefined, after: Promise<void> | undefined) {
    this.#name = name;
    const tabNames = names(name);
    this.#names = tabNames;
    const isClosed = () => this.#closed;
    this.#calls = new RemoteCalls({
      name,
      tabId: this.#tabId,
      currentOwner: () => this.#election.owner?.id,
      post: (to, message, strict) => this.#post(to, message, strict),
    });
    this.#relay = new OwnerRelay({
      name,
      names: tabNames,
      mutex: this.#mutex,
      isClosing: () => this.#closing,
      worker: () => this.#election.worker,
      signal: () => this.#election.signal,
      post: (to, message) => this.#post(to, message),
    });
    this.#changes = new ChangeBroadcast(tabNames.changes, isClosed);
    // Only publish and subscribe reach the driver's users; closing is this class's.
    this.changeChannel = {
      publish: (event) => this.#changes.publish(event),
      subscribe: (listener) => this.#changes.subscribe(listener),
    };
    this.#election = new TabElection({
      name,
      fallback,
      after,
      tabId: this.#tabId,
      names: tabNames,
      isClosed,
      onInbox: (message) => {
        if (message.kind === 'reply') this.#calls.answer(message);
        else this.#relay.receive(message);
      },
      onOwnerGone: (owner) => this.#calls.ownerGone(owner),
      onTeardown: () => {
        this.#relay.closeOutboxes();
        if (this.#closed) this.#changes.close();
      },
    });
  }

  get storage(): OpfsStorage | undefined {
    return this.#election.storage;
  }

  /** Whether this tab owns the database now (runs its worker). */
  get isOwner(): boolean {
    return this.#election.worker !== undefined;
  }

  onOwnershipChange(listener: (owner: boolean) => void): () => void {
    return this.#election.onOwnershipChange(listener);
  }

  open(): Promise<void> {
    return this.#mutex.run(async () => {
      await this.#election.route();
    });
  }

  execute(sql: string, params: readonly SqliteValue[] = []): Promise<SqliteResult> {
    return this.#mutex.run(async () =>
      toSqliteResult(await this.#call(undefined, 'execute', { sql, params })),
    );
  }

  executeBatch(
    statements: readonly SqliteStatement[],
    options: SqliteBatchOptions = {},
  ): Promise<SqliteResult[]> {
    return this.#mutex.run(async () =>
      (await this.#call(undefined, 'batch', packBatch(statements, options))).map(toSqliteResult),
    );
  }

  exclusive<T>(fn: (executor: SqliteExecutor) => Promise<T>): Promise<T> {
    return this.#mutex.run(async () => {
      const route = await this.#election.route();
      if (route.kind === 'local')
        return fn(executorOver((op, args) => route.worker.call(op, args)));
      const section: Section = { id: this.#nextSection++, owner: undefined };
      try {
        return await fn(executorOver((op, args) => this.#call(section, op, args)));
      } finally {
        if (section.owner !== undefined && section.owner === this.#election.owner?.id) {
          this.#post(section.owner, { kind: 'end', from: this.#tabId, section: section.id });
        }
      }
    });
  }

  /** Runs one worker operation in its own section (the benchmark's raw inserts). */
  run<K extends RelayOp>(op: K, args: WorkerOps[K]['args']): Promise<WorkerOps[K]['result']> {
    return this.#mutex.run(() => this.#call(undefined, op, args));
  }

  close(): Promise<void> {
    this.#closing = true;
    return this.#mutex.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      const wasOwner = this.isOwner;
      const error = closedError(this.#name);
      const worker = this.#election.resign(error);
      this.#calls.failAll(error);
      // Other tabs' sections hold this same mutex, so none is running now.
      this.#relay.releaseAll();
      try {
        await worker?.close();
      } finally {
        this.#election.end(wasOwner);
      }
    });
  }

  /** Runs `op` where the database is; re-sends it when an owner that is closing did not run it. */
  async #call<K extends RelayOp>(
    section: Section | undefined,
    op: K,
    args: WorkerOps[K]['args'],
  ): Promise<WorkerOps[K]['result']> {
    for (;;) {
      // A section's calls all go to the owner that took its first call.
      const route: Route =
        section?.owner !== undefined
          ? { kind: 'remote', owner: section.owner }
          : await this.#election.route();
      if (route.kind === 'local') return route.worker.call(op, args);
      if (section) section.owner = route.owner;
      const answer = await this.#calls.send(route.owner, section?.id, op, args);
      if (answer !== MOVED) return answer as WorkerOps[K]['result'];
      // Not run: the owner was closing before the section began. Wait for the next one.
      if (section) section.owner = undefined;
      await this.#election.ownerChanged(route.owner);
    }
  }

  /** Posts to a tab's inbox; `strict` rethrows a clone failure instead of logging it. */
  #post(to: string, message: TabMessage, strict = false): void {
    const owner = this.#election.owner;
    const kept = to === owner?.id ? owner.outbox : this.#relay.outboxOf(to);
    const outbox = kept ?? new BroadcastChannel(this.#names.tab(to));
    try {
      outbox.postMessage(message);
    } catch (error) {
      if (strict) throw error;
      console.error('Carburetor: could not send a message to another tab', error);
    } finally {
      // Posted messages are on their way: closing the sender does not drop them.
      if (!kept) outbox.close();
    }
  }
}
