import { AsyncMutex } from '../driver/async-mutex.ts';
import {
  type SqliteBatchOptions,
  SqliteDriverError,
  type SqliteExecutor,
  type SqliteResult,
  type SqliteStatement,
  type SqliteValue,
} from '../driver/sqlite-driver.ts';
import { toSqliteResult } from '../driver/wa-sqlite-runner.ts';
import type { ChangeEvent } from '../sync/change-emitter.ts';
import type { ChangeChannel, SyncLeadership } from '../sync/shared-replica.ts';
import { type ControlMessage, names, type RelayOp, type TabMessage } from './tab-protocol.ts';
import { closedError, WorkerConnection } from './worker-connection.ts';
import type { OpfsStorage, WireError, WorkerOps } from './worker-protocol.ts';

/** Where the calls of a section go: this tab's worker, or the owning tab. */
type Route =
  | { readonly kind: 'local'; readonly worker: WorkerConnection }
  | {
      readonly kind: 'remote';
      readonly owner: string;
    };

/** A caller's exclusive section, as its tab tracks it. */
interface Section {
  readonly id: number;
  /** The owner that serves it, once its first call has gone out. */
  owner: string | undefined;
}

interface Pending {
  readonly owner: string;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** An exclusive section another tab holds on this (owning) tab's connection. */
interface Served {
  /** Settles once the section holds the connection; undefined: the owner is closing. */
  readonly acquired: Promise<boolean>;
  release(): void;
}

/** A random id for this tab (crypto.randomUUID exists only in secure contexts). */
function tabId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
}

/** How long answers of an owner that is gone may still arrive (its inbox stays open as long). */
const ANSWER_GRACE_MS = 1_000;

/** The answer of an owner that is closing: the call did not run, send it to the next owner. */
const MOVED = Symbol('moved');

function fromWire({ code, message, sqliteCode, statementIndex }: WireError): SqliteDriverError {
  return new SqliteDriverError(code, message, {
    ...(sqliteCode === undefined ? {} : { sqliteCode }),
    ...(statementIndex === undefined ? {} : { statementIndex }),
  });
}

function toWire(error: unknown): WireError {
  const e =
    error instanceof SqliteDriverError
      ? error
      : new SqliteDriverError('crashed', error instanceof Error ? error.message : String(error));
  return {
    code: e.code,
    message: e.message,
    ...(e.sqliteCode === undefined ? {} : { sqliteCode: e.sqliteCode }),
    ...(e.statementIndex === undefined ? {} : { statementIndex: e.statementIndex }),
  };
}

/** Packs a batch for the worker: each distinct SQL string once. */
function packBatch(
  statements: readonly SqliteStatement[],
  options: SqliteBatchOptions,
): WorkerOps['batch']['args'] {
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
  return { sqls, which, params, transaction: options.transaction ?? false };
}

type Send = <K extends RelayOp>(
  op: K,
  args: WorkerOps[K]['args'],
) => Promise<WorkerOps[K]['result']>;

function executorOver(send: Send): SqliteExecutor {
  return {
    execute: async (sql, params = []) => toSqliteResult(await send('execute', { sql, params })),
    executeBatch: async (statements, options = {}) =>
      (await send('batch', packBatch(statements, options))).map(toSqliteResult),
  };
}

function cloneError(error: unknown, to: string): SqliteDriverError {
  // DataCloneError: a parameter the structured clone cannot copy.
  return new SqliteDriverError(
    'invalid_parameter',
    `Could not send the SQL to ${to}: ${error instanceof Error ? error.message : String(error)}. Pass null, numbers, bigints, strings or Uint8Arrays.`,
    { cause: error },
  );
}

/**
 * One replica shared by every tab of an origin. The tab holding the Web Lock
 * `carburetor:<name>` owns the SQLite worker; the others send their calls to
 * it over BroadcastChannels and get the answers back. When the owner goes,
 * the next tab in the lock's queue opens the database and announces itself.
 * See README.md ("Several tabs") for the guarantees.
 */
export class SharedDatabase {
  readonly #name: string;
  readonly #fallback: 'memory' | undefined;
  readonly #after: Promise<void> | undefined;
  readonly #tabId = tabId();
  readonly #names: ReturnType<typeof names>;
  /** This tab's order: sections and calls, and (when owner) other tabs' sections, one at a time. */
  readonly #mutex = new AsyncMutex();

  #started = false;
  /** This tab holds the owner lock (opening the database, or open). */
  #owning = false;
  #closed = false;
  #closing = false;
  /** The worker, when this tab owns the replica and it is open. */
  #worker: WorkerConnection | undefined;
  /** The owning tab, when another tab owns it and has announced itself. */
  #owner: { readonly id: string; readonly outbox: BroadcastChannel } | undefined;
  #storage: OpfsStorage | undefined;

  #abort: AbortController | undefined;
  #releaseTab: (() => void) | undefined;
  #releaseOwner: (() => void) | undefined;
  #control: BroadcastChannel | undefined;
  #inbox: BroadcastChannel | undefined;
  #changes: BroadcastChannel | undefined;

  /** Waiting for a route: woken on every change of ownership, rejected on failure. */
  #waiters = new Set<{ resolve(): void; reject(error: Error): void }>();
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #nextSection = 1;
  /** Owner side: other tabs' sections, by `<tab>:<section>`, and the tabs seen. */
  #served = new Map<string, Served>();
  #outboxes = new Map<string, BroadcastChannel>();

  #leaderListeners = new Set<(leader: boolean) => void>();
  #changeListeners = new Set<(event: ChangeEvent) => void>();

  constructor(name: string, fallback: 'memory' | undefined, after: Promise<void> | undefined) {
    this.#name = name;
    this.#fallback = fallback;
    this.#after = after;
    this.#names = names(name);
  }

  get storage(): OpfsStorage | undefined {
    return this.#storage;
  }

  /** Whether this tab owns the database now (runs its worker). */
  get isOwner(): boolean {
    return this.#worker !== undefined;
  }

  onOwnershipChange(listener: (owner: boolean) => void): () => void {
    this.#leaderListeners.add(listener);
    return () => {
      this.#leaderListeners.delete(listener);
    };
  }

  readonly leadership: SyncLeadership = {
    isLeader: () => this.isOwner,
    subscribe: (listener) => this.onOwnershipChange(listener),
  };

  readonly changeChannel: ChangeChannel = {
    publish: (event) => {
      if (this.#closed) return;
      this.#changeChannel()?.postMessage({ tables: [...event.tables], source: event.source });
    },
    subscribe: (listener) => {
      this.#changeChannel();
      this.#changeListeners.add(listener);
      return () => {
        this.#changeListeners.delete(listener);
      };
    },
  };

  // ------------------------------------------------------------ driver calls

  open(): Promise<void> {
    return this.#mutex.run(async () => {
      await this.#route();
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
      const route = await this.#route();
      if (route.kind === 'local')
        return fn(executorOver((op, args) => route.worker.call(op, args)));
      const section: Section = { id: this.#nextSection++, owner: undefined };
      try {
        return await fn(executorOver((op, args) => this.#call(section, op, args)));
      } finally {
        if (section.owner !== undefined && section.owner === this.#owner?.id) {
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
      const worker = this.#worker;
      this.#worker = undefined;
      const error = closedError(this.#name);
      for (const waiter of this.#waiters) waiter.reject(error);
      this.#waiters.clear();
      this.#failPending(() => true, error);
      // Other tabs' sections hold this same mutex, so none is running now.
      for (const served of this.#served.values()) served.release();
      this.#served.clear();
      try {
        await worker?.close();
      } finally {
        this.#owning = false;
        // The file is closed: the next tab may take the lock and open it.
        this.#teardown();
        if (wasOwner) this.#tellLeaders(false);
      }
    });
  }

  // ------------------------------------------------------------ routing

  /** Where calls go now; starts the election on first use and waits for an owner. */
  async #route(): Promise<Route> {
    for (;;) {
      if (this.#closed) throw closedError(this.#name);
      if (!this.#started) this.#start();
      if (this.#worker) return { kind: 'local', worker: this.#worker };
      if (this.#owner) return { kind: 'remote', owner: this.#owner.id };
      await new Promise<void>((resolve, reject) => this.#waiters.add({ resolve, reject }));
    }
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
          : await this.#route();
      if (route.kind === 'local') return route.worker.call(op, args);
      if (section) section.owner = route.owner;
      const answer = await this.#send(route.owner, section?.id, op, args);
      if (answer !== MOVED) return answer as WorkerOps[K]['result'];
      // Not run: the owner was closing before the section began. Wait for the next one.
      if (section) section.owner = undefined;
      while (this.#owner?.id === route.owner) {
        await new Promise<void>((resolve, reject) => this.#waiters.add({ resolve, reject }));
      }
    }
  }

  #send(
    owner: string,
    section: number | undefined,
    op: RelayOp,
    args: WorkerOps[RelayOp]['args'],
  ): Promise<unknown> {
    if (owner !== this.#owner?.id) return Promise.reject(this.#ownerGoneError());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { owner, resolve, reject });
      try {
        this.#post(owner, { kind: 'call', from: this.#tabId, id, section, op, args }, true);
      } catch (error) {
        this.#pending.delete(id);
        reject(cloneError(error, 'the tab that owns the replica'));
      }
    });
  }

  /** Posts to a tab's inbox; `strict` rethrows a clone failure instead of logging it. */
  #post(to: string, message: TabMessage, strict = false): void {
    const kept = to === this.#owner?.id ? this.#owner.outbox : this.#outboxes.get(to);
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

  #failPending(which: (pending: Pending) => boolean, error: Error): void {
    for (const [id, pending] of this.#pending) {
      if (!which(pending)) continue;
      this.#pending.delete(id);
      pending.reject(error);
    }
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const waiter of waiters) waiter.resolve();
  }

  #tellLeaders(leader: boolean): void {
    for (const listener of [...this.#leaderListeners]) {
      try {
        listener(leader);
      } catch (error) {
        console.error('Carburetor: an ownership listener threw', error);
      }
    }
  }

  // ------------------------------------------------------------ election

  #start(): void {
    this.#started = true;
    const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
    if (!locks || typeof BroadcastChannel === 'undefined') {
      // No Web Locks (not a secure context): no sharing, this tab opens its own
      // worker (without OPFS there is nothing to share anyway).
      void (async () => {
        await this.#after;
        await this.#becomeOwner();
      })();
      return;
    }
    const abort = new AbortController();
    this.#abort = abort;
    const signal = abort.signal;
    const ignoreAbort = (error: unknown) => {
      if ((error as { name?: unknown })?.name !== 'AbortError') {
        console.error('Carburetor: a Web Lock request failed', error);
      }
    };
    // This tab's own lock, held for the driver's life: the others learn that
    // it is gone (tab closed, crashed) when they get it.
    const tabHeld = new Promise<void>((resolve) => {
      this.#releaseTab = resolve;
    });
    const tabLocked = new Promise<void>((granted) => {
      locks
        .request(this.#names.tab(this.#tabId), { signal }, () => {
          granted();
          return tabHeld;
        })
        .catch(ignoreAbort);
    });

    const inbox = new BroadcastChannel(this.#names.tab(this.#tabId));
    inbox.onmessage = (event: MessageEvent<TabMessage>) => this.#onInbox(event.data);
    this.#inbox = inbox;
    const control = new BroadcastChannel(this.#names.owner);
    control.onmessage = (event: MessageEvent<ControlMessage>) => this.#onControl(event.data);
    this.#control = control;

    const run = async () => {
      await this.#after; // a driver of this name closed a moment ago in this page
      // Held before any other tab hears of this one, so its watch waits for this tab.
      await tabLocked;
      if (signal.aborted) return;
      locks
        .request(this.#names.owner, { signal }, async () => {
          const ownerHeld = new Promise<void>((resolve) => {
            this.#releaseOwner = resolve;
          });
          if (await this.#becomeOwner()) await ownerHeld;
        })
        .catch(ignoreAbort);
      control.postMessage({ kind: 'who' } satisfies ControlMessage);
    };
    void run();
  }

  /** This tab got the lock: open the database and serve the others. Answers whether it did. */
  async #becomeOwner(): Promise<boolean> {
    if (this.#closed) return false;
    this.#owning = true;
    if (this.#owner) this.#ownerGone(this.#owner.id);
    const worker = new WorkerConnection(this.#name, this.#fallback);
    try {
      await worker.open();
    } catch (error) {
      // Give the lock back and fail the waiting calls; a later call retries.
      const failure = error instanceof Error ? error : new Error(String(error));
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      this.#teardown();
      this.#started = false;
      this.#owning = false;
      for (const waiter of waiters) waiter.reject(failure);
      return false;
    }
    if (this.#closed) {
      await worker.close();
      return false;
    }
    this.#worker = worker;
    this.#storage = worker.storage;
    this.#announce();
    this.#wake();
    this.#tellLeaders(true);
    return true;
  }

  #announce(): void {
    if (!this.#worker || !this.#storage) return;
    this.#control?.postMessage({
      kind: 'owner',
      id: this.#tabId,
      storage: this.#storage,
    } satisfies ControlMessage);
  }

  #onControl(message: ControlMessage): void {
    if (this.#closed) return;
    if (message.kind === 'who') {
      this.#announce();
      return;
    }
    // While this tab holds the lock, an announcement is a late one from a tab now gone.
    if (message.id === this.#tabId || this.#owning || this.#owner?.id === message.id) return;
    const previous = this.#owner;
    if (previous) this.#ownerGone(previous.id);
    this.#owner = { id: message.id, outbox: new BroadcastChannel(this.#names.tab(message.id)) };
    this.#storage = message.storage;
    // Its lock frees when the owning tab closes or dies.
    navigator.locks
      .request(this.#names.tab(message.id), { signal: this.#abort?.signal }, () => {
        if (this.#owner?.id === message.id) this.#ownerGone(message.id);
      })
      .catch(() => undefined);
    this.#wake();
  }

  /**
   * The owning tab is gone. New calls wait for the next owner at once. Calls
   * it has not answered get a moment: an owner that closed cleanly still
   * answers them (run, or "moved" when it did not run them); after that, what
   * a tab that died had not answered may or may not have run, and fails.
   */
  #ownerGone(id: string): void {
    if (this.#owner?.id === id) {
      this.#owner.outbox.close();
      this.#owner = undefined;
    }
    this.#wake();
    setTimeout(
      () => this.#failPending((pending) => pending.owner === id, this.#ownerGoneError()),
      ANSWER_GRACE_MS,
    );
  }

  #ownerGoneError(): SqliteDriverError {
    return new SqliteDriverError(
      'crashed',
      `The tab that held the replica "${this.#name}" closed before answering; the call may or may not have taken effect (a transaction either committed whole or not at all). Another tab takes over the replica: check, then retry.`,
    );
  }

  // ------------------------------------------------------------ owner side

  #onInbox(message: TabMessage): void {
    if (message.kind === 'reply') {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.ok === true) pending.resolve(message.result);
      else if (message.ok === 'moved') pending.resolve(MOVED);
      else pending.reject(fromWire(message.error));
      return;
    }
    this.#watch(message.from);
    if (message.kind === 'end') {
      const key = `${message.from}:${message.section}`;
      this.#served.get(key)?.release();
      this.#served.delete(key);
      return;
    }
    const { from, id, op, args } = message;
    const reply = (answer: TabMessage) => this.#post(from, answer);
    const moved = () => reply({ kind: 'reply', id, ok: 'moved' });
    const worker = () => {
      const current = this.#worker;
      if (!current) throw closedError(this.#name);
      return current;
    };
    let run: Promise<unknown>;
    if (message.section === undefined) {
      if (this.#closing) {
        moved();
        return;
      }
      run = this.#mutex.run(async () => (this.#closing ? MOVED : worker().call(op, args)));
    } else {
      const key = `${from}:${message.section}`;
      let served = this.#served.get(key);
      if (!served) {
        if (this.#closing) {
          moved();
          return;
        }
        served = this.#serve();
        this.#served.set(key, served);
      }
      run = served.acquired.then<unknown>((ok) => (ok ? worker().call(op, args) : MOVED));
    }
    run.then(
      (result) =>
        result === MOVED
          ? moved()
          : reply({
              kind: 'reply',
              id,
              ok: true,
              result: result as WorkerOps[RelayOp]['result'],
            }),
      (error: unknown) => reply({ kind: 'reply', id, ok: false, error: toWire(error) }),
    );
  }

  /** Holds this tab's connection for another tab's section until it ends. */
  #serve(): Served {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let acquired!: (ok: boolean) => void;
    const served: Served = {
      acquired: new Promise<boolean>((resolve) => {
        acquired = resolve;
      }),
      release,
    };
    void this.#mutex.run(async () => {
      if (this.#closing) {
        acquired(false);
        return;
      }
      acquired(true);
      await released;
    });
    return served;
  }

  /** Learns when a calling tab goes: its sections end, an open transaction rolls back. */
  #watch(tab: string): void {
    if (this.#outboxes.has(tab) || !this.#abort) return;
    this.#outboxes.set(tab, new BroadcastChannel(this.#names.tab(tab)));
    navigator.locks
      .request(this.#names.tab(tab), { signal: this.#abort.signal }, async () => {
        this.#outboxes.get(tab)?.close();
        this.#outboxes.delete(tab);
        for (const [key, served] of [...this.#served]) {
          if (!key.startsWith(`${tab}:`)) continue;
          this.#served.delete(key);
          if (await served.acquired) {
            // Its transaction, if it left one open, must not hold the database.
            await this.#worker?.call('execute', { sql: 'ROLLBACK', params: [] }).catch(() => null);
          }
          served.release();
        }
      })
      .catch(() => undefined);
  }

  #changeChannel(): BroadcastChannel | undefined {
    if (this.#changes || this.#closed || typeof BroadcastChannel === 'undefined') {
      return this.#changes;
    }
    const channel = new BroadcastChannel(this.#names.changes);
    channel.onmessage = (event: MessageEvent<ChangeEvent>) => {
      for (const listener of [...this.#changeListeners]) {
        try {
          listener(event.data);
        } catch (error) {
          console.error('Carburetor: a change listener threw', error);
        }
      }
    };
    this.#changes = channel;
    return channel;
  }

  /** Lets go of locks and channels (close, or a failed open). */
  #teardown(): void {
    this.#abort?.abort();
    this.#abort = undefined;
    this.#releaseOwner?.();
    this.#releaseOwner = undefined;
    this.#releaseTab?.();
    this.#releaseTab = undefined;
    this.#control?.close();
    this.#control = undefined;
    this.#owner?.outbox.close();
    this.#owner = undefined;
    for (const outbox of this.#outboxes.values()) outbox.close();
    this.#outboxes.clear();
    // The inbox stays open a moment: answers to calls this tab made still arrive.
    const inbox = this.#inbox;
    this.#inbox = undefined;
    if (inbox) setTimeout(() => inbox.close(), ANSWER_GRACE_MS);
    if (this.#closed) {
      this.#changes?.close();
      this.#changes = undefined;
    }
  }
}
