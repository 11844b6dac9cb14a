import type { ChangeBusHandlers, ChangeBusSubscription } from './change-bus.ts';

/** Opens one bus subscription. */
export type ListenConnector = (handlers: ChangeBusHandlers) => Promise<ChangeBusSubscription>;

/** What a {@link ListenSession} tells its owner. */
export interface ListenSessionHandlers {
  /** A message on the bus. */
  notify(payload: string): void;
  /** The connection is back after a break: changes may have been missed meanwhile. */
  recovered(): void;
  /** Connection trouble (the session keeps retrying); must not throw. */
  report(error: unknown): void;
}

/** How a session retries and idles, in ms. */
export interface ListenSessionTiming {
  readonly retryInitial: number;
  readonly retryMax: number;
  readonly idleTimeout: number;
}

type SessionState = 'idle' | 'connecting' | 'connected' | 'retrying' | 'closed';

/**
 * The life of one bus subscription (a LISTEN connection, a Redis subscriber):
 *
 * ```
 *  idle ──wanted──▶ connecting ──open──▶ connected
 *   ▲                 │   ▲                  │
 *   │ unwanted        │   │ retry timer      │ lost
 *   │ for idleTimeout │   │ (backoff with    ▼
 *   └─────────────────┴── retrying ◀─────────┘
 * ```
 *
 * It opens when someone wants it, reopens with exponential backoff and
 * jitter after a break (and then says so: changes may have been missed),
 * and closes once nobody has wanted it for `idleTimeout`. A generation
 * number drops the late callbacks of a connection it abandoned.
 */
export class ListenSession {
  readonly #connect: ListenConnector;
  readonly #timing: ListenSessionTiming;
  readonly #handlers: ListenSessionHandlers;
  readonly #readyWaiters = new Set<() => void>();
  #state: SessionState = 'idle';
  #wanted = false;
  #connection: ChangeBusSubscription | undefined;
  #generation = 0;
  #attempt = 0;
  #missed = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    connect: ListenConnector,
    timing: ListenSessionTiming,
    handlers: ListenSessionHandlers,
  ) {
    this.#connect = connect;
    this.#timing = timing;
    this.#handlers = handlers;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Someone listens (open now if idle), or nobody does (close after `idleTimeout`). */
  setWanted(wanted: boolean): void {
    if (this.#state === 'closed') return;
    this.#wanted = wanted;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (wanted) {
      if (this.#state === 'idle') void this.#open();
      return;
    }
    this.#idleTimer = setTimeout(() => this.#idle(), this.#timing.idleTimeout);
    this.#idleTimer.unref?.();
  }

  /** Resolves once the connection is open (at once if it is), when `signal` aborts, or on close. */
  ready(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'connected' || this.#state === 'closed' || signal?.aborted) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        this.#readyWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#readyWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    this.#generation++;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#idleTimer);
    for (const waiter of [...this.#readyWaiters]) waiter();
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.close();
  }

  /** Nobody wanted it for `idleTimeout`: let the connection go. */
  #idle(): void {
    this.#idleTimer = undefined;
    if (this.#wanted || this.#state === 'closed') return;
    this.#generation++;
    clearTimeout(this.#retryTimer);
    this.#state = 'idle';
    this.#missed = false;
    this.#attempt = 0;
    const connection = this.#connection;
    this.#connection = undefined;
    void connection?.close();
  }

  async #open(): Promise<void> {
    this.#state = 'connecting';
    const generation = ++this.#generation;
    let connection: ChangeBusSubscription;
    try {
      connection = await this.#connect({
        message: (payload) => {
          if (generation === this.#generation) this.#handlers.notify(payload);
        },
        lost: (error) => {
          if (generation === this.#generation) this.#lost(error);
        },
      });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#lost(error);
      return;
    }
    if (generation !== this.#generation) {
      await connection.close();
      return;
    }
    this.#connection = connection;
    this.#state = 'connected';
    this.#attempt = 0;
    for (const waiter of [...this.#readyWaiters]) waiter();
    if (this.#missed) {
      this.#missed = false;
      this.#handlers.recovered();
    }
  }

  #lost(error: unknown): void {
    this.#generation++;
    this.#connection = undefined;
    this.#missed = true;
    this.#handlers.report(error);
    if (!this.#wanted) {
      this.#state = 'idle';
      this.#missed = false;
      this.#attempt = 0;
      return;
    }
    this.#state = 'retrying';
    const { retryInitial, retryMax } = this.#timing;
    const base = Math.min(retryMax, retryInitial * 2 ** this.#attempt);
    this.#attempt++;
    // Jitter, so server instances that lost the database together do not return in lockstep.
    const delay = base / 2 + Math.random() * (base / 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state === 'retrying') void this.#open();
    }, delay);
    this.#retryTimer.unref?.();
  }
}
