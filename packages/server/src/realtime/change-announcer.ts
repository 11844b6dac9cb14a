import { encodeChangeMessage, mergeTableChange, type TableChange } from './change-message.ts';

/**
 * Announces what this process's uploads changed, after their commits, one
 * message per window whatever the write rate: the first at once when none
 * went out in the last window, the next when the window ends, with every
 * change folded in meanwhile. A message that fails to send is reported and
 * its changes are folded into the next one, tried again with backoff (the
 * hub's `retryDelayMs`): the bus may be back for the subscribers before it is for
 * this publisher. Folding keeps the queue small (a table's values become
 * "many" past a hundred).
 */
export class ChangeAnnouncer {
  readonly #windowMs: number;
  readonly #publish: (message: string) => Promise<void>;
  readonly #maxBytes: number | undefined;
  readonly #report: (error: unknown) => void;
  readonly #origin: string | undefined;
  readonly #pending = new Map<string, TableChange>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastSent = Number.NEGATIVE_INFINITY;
  #sending: Promise<void> | undefined;
  #failures = 0;
  readonly #retry: { readonly initial: number; readonly max: number };

  constructor(options: {
    windowMs: number;
    publish: (message: string) => Promise<void>;
    maxMessageBytes?: number | undefined;
    /** Backoff between attempts after a failure: first delay and cap, in ms. */
    retry?: { readonly initial: number; readonly max: number };
    report: (error: unknown) => void;
    /** The sending hub's id, written into each message (see `ChangeMessage.o`). */
    origin?: string | undefined;
  }) {
    this.#origin = options.origin;
    this.#retry = options.retry ?? { initial: 100, max: 5_000 };
    this.#windowMs = options.windowMs;
    this.#publish = options.publish;
    this.#maxBytes = options.maxMessageBytes;
    this.#report = options.report;
  }

  /** Queues committed changes for the next message. */
  announce(changes: readonly TableChange[]): void {
    if (changes.length === 0) return;
    for (const change of changes) mergeTableChange(this.#pending, change);
    if (this.#timer !== undefined) return;
    const wait = this.#lastSent + this.#windowMs - performance.now();
    // A quiet window: send now, not after a timer's turn (Node's shortest is 1 ms).
    if (wait <= 0) void this.#send();
    else this.#schedule(wait);
  }

  /** Sends what is queued now (once) and waits for the message under way (for shutdown and tests). */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      await this.#send();
    }
    await this.#sending;
  }

  #schedule(wait: number): void {
    this.#timer = setTimeout(() => void this.#send(), wait);
  }

  async #send(): Promise<void> {
    this.#timer = undefined;
    this.#lastSent = performance.now();
    const changes = [...this.#pending.values()];
    this.#pending.clear();
    if (changes.length === 0) return;
    const sending = this.#publish(encodeChangeMessage(changes, this.#maxBytes, this.#origin)).then(
      () => {
        this.#failures = 0;
      },
      (error) => {
        this.#report(error);
        for (const change of changes) mergeTableChange(this.#pending, change);
        this.#failures++;
        if (this.#timer !== undefined) clearTimeout(this.#timer);
        const { initial, max } = this.#retry;
        this.#schedule(Math.min(max, initial * 2 ** (this.#failures - 1)));
        this.#timer?.unref?.();
      },
    );
    this.#sending = sending;
    await sending;
  }

  /** Stops retrying; what is queued is dropped. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }
}
