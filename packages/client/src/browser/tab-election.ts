import { ANSWER_GRACE_MS } from './remote-calls.ts';
import type { ControlMessage, TabMessage, TabNames } from './tab-protocol.ts';
import { closedError, WorkerConnection } from './worker-connection.ts';
import type { OpfsFallback, OpfsStorage } from './worker-protocol.ts';

/** Where the calls of a section go: this tab's worker, or the owning tab. */
export type Route =
  | { readonly kind: 'local'; readonly worker: WorkerConnection }
  | { readonly kind: 'remote'; readonly owner: string };

export interface TabElectionOptions {
  readonly name: string;
  readonly fallback: OpfsFallback | undefined;
  /** A driver of this name that closed a moment ago in this page: start after it. */
  readonly after: Promise<void> | undefined;
  readonly tabId: string;
  readonly names: TabNames;
  isClosed(): boolean;
  /** A message in this tab's inbox: a call (when owner) or a reply. */
  onInbox(message: TabMessage): void;
  /** The owning tab is gone: the calls it has not answered get a grace period. */
  onOwnerGone(owner: string): void;
  /** The election let go of its locks and channels: the other parts close theirs. */
  onTeardown(): void;
}

/**
 * Which tab owns the replica. The tab holding the Web Lock
 * `carburetor:<name>` opens the SQLite worker and announces itself on the
 * control channel; the others learn of it there, and learn that it is gone
 * when they get its tab lock (held for its life). When the owner goes, the
 * next tab in the lock's queue opens the database.
 */
export class TabElection {
  readonly #options: TabElectionOptions;

  #started = false;
  /** This tab holds the owner lock (opening the database, or open). */
  #owning = false;
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

  /** Waiting for a route: woken on every change of ownership, rejected on failure. */
  #waiters = new Set<{ resolve(): void; reject(error: Error): void }>();
  #leaderListeners = new Set<(leader: boolean) => void>();

  constructor(options: TabElectionOptions) {
    this.#options = options;
  }

  get worker(): WorkerConnection | undefined {
    return this.#worker;
  }

  get owner(): { readonly id: string; readonly outbox: BroadcastChannel } | undefined {
    return this.#owner;
  }

  get storage(): OpfsStorage | undefined {
    return this.#storage;
  }

  /** Aborts this tab's lock requests on teardown; undefined without Web Locks. */
  get signal(): AbortSignal | undefined {
    return this.#abort?.signal;
  }

  onOwnershipChange(listener: (owner: boolean) => void): () => void {
    this.#leaderListeners.add(listener);
    return () => {
      this.#leaderListeners.delete(listener);
    };
  }

  /** Where calls go now; starts the election on first use and waits for an owner. */
  async route(): Promise<Route> {
    for (;;) {
      if (this.#options.isClosed()) throw closedError(this.#options.name);
      if (!this.#started) this.#start();
      if (this.#worker) return { kind: 'local', worker: this.#worker };
      if (this.#owner) return { kind: 'remote', owner: this.#owner.id };
      await this.#changed();
    }
  }

  /** Resolves once `owner` no longer owns the replica (as far as this tab knows). */
  async ownerChanged(owner: string): Promise<void> {
    while (this.#owner?.id === owner) await this.#changed();
  }

  /** This tab closes: takes the worker (to close it) and fails whoever waits for a route. */
  resign(error: Error): WorkerConnection | undefined {
    const worker = this.#worker;
    this.#worker = undefined;
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    return worker;
  }

  /** The worker is closed: the next tab may take the lock and open the file. */
  end(wasOwner: boolean): void {
    this.#owning = false;
    this.#teardown();
    if (wasOwner) this.#tellLeaders(false);
  }

  #changed(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#waiters.add({ resolve, reject }));
  }

  #start(): void {
    this.#started = true;
    const { names, tabId } = this.#options;
    const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
    if (!locks || typeof BroadcastChannel === 'undefined') {
      // No Web Locks (not a secure context): no sharing, this tab opens its own
      // worker (without OPFS there is nothing to share anyway).
      void (async () => {
        await this.#options.after;
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
        .request(names.tab(tabId), { signal }, () => {
          granted();
          return tabHeld;
        })
        .catch(ignoreAbort);
    });

    const inbox = new BroadcastChannel(names.tab(tabId));
    inbox.onmessage = (event: MessageEvent<TabMessage>) => this.#options.onInbox(event.data);
    this.#inbox = inbox;
    const control = new BroadcastChannel(names.owner);
    control.onmessage = (event: MessageEvent<ControlMessage>) => this.#onControl(event.data);
    this.#control = control;

    const run = async () => {
      await this.#options.after;
      // Held before any other tab hears of this one, so its watch waits for this tab.
      await tabLocked;
      if (signal.aborted) return;
      locks
        .request(names.owner, { signal }, async () => {
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
    if (this.#options.isClosed()) return false;
    this.#owning = true;
    if (this.#owner) this.#ownerGone(this.#owner.id);
    const worker = new WorkerConnection(this.#options.name, this.#options.fallback);
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
    if (this.#options.isClosed()) {
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
      id: this.#options.tabId,
      storage: this.#storage,
    } satisfies ControlMessage);
  }

  #onControl(message: ControlMessage): void {
    if (this.#options.isClosed()) return;
    if (message.kind === 'who') {
      this.#announce();
      return;
    }
    // While this tab holds the lock, an announcement is a late one from a tab now gone.
    if (message.id === this.#options.tabId || this.#owning || this.#owner?.id === message.id) {
      return;
    }
    const previous = this.#owner;
    if (previous) this.#ownerGone(previous.id);
    const { names } = this.#options;
    this.#owner = { id: message.id, outbox: new BroadcastChannel(names.tab(message.id)) };
    this.#storage = message.storage;
    // Its lock frees when the owning tab closes or dies.
    navigator.locks
      .request(names.tab(message.id), { signal: this.#abort?.signal }, () => {
        if (this.#owner?.id === message.id) this.#ownerGone(message.id);
      })
      .catch(() => undefined);
    this.#wake();
  }

  /** The owning tab is gone: new calls wait for the next owner at once. */
  #ownerGone(id: string): void {
    if (this.#owner?.id === id) {
      this.#owner.outbox.close();
      this.#owner = undefined;
    }
    this.#wake();
    this.#options.onOwnerGone(id);
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
    this.#options.onTeardown();
    // The inbox stays open a moment: answers to calls this tab made still arrive.
    const inbox = this.#inbox;
    this.#inbox = undefined;
    if (inbox) setTimeout(() => inbox.close(), ANSWER_GRACE_MS);
  }
}
