/**
 * Merges pokes per subscriber over a window: a poke goes out at once when
 * none went out in the last window, otherwise when the window ends, naming
 * every table poked meanwhile. A burst of changes makes about one poke per
 * window per subscriber.
 *
 * "At once" waits while `held()` says more changes are about to come (this
 * process's uploads under way: their announcements follow within
 * milliseconds), until {@link release} or the window's end, so a burst of
 * concurrent uploads is delivered, and its pages read, once.
 */
export class PokeCoalescer<S> {
  readonly #windowMs: number;
  readonly #deliver: (subscriber: S, tables: string[]) => void;
  readonly #held: () => boolean;
  readonly #pending = new Map<S, Set<string>>();
  /** Cancels the flush that is due. */
  #timer: (() => void) | undefined;
  /** The flush due is one that would have gone at once, waiting for `release`. */
  #holding = false;
  #lastFlush = Number.NEGATIVE_INFINITY;

  constructor(
    windowMs: number,
    deliver: (subscriber: S, tables: string[]) => void,
    held: () => boolean = () => false,
  ) {
    this.#windowMs = windowMs;
    this.#deliver = deliver;
    this.#held = held;
  }

  poke(subscriber: S, tableKey: string): void {
    let tables = this.#pending.get(subscriber);
    if (!tables) {
      tables = new Set();
      this.#pending.set(subscriber, tables);
    }
    tables.add(tableKey);
    if (this.#timer !== undefined) return;
    const wait = this.#lastFlush + this.#windowMs - performance.now();
    if (wait > 0) this.#flushIn(wait);
    else if (this.#held()) {
      this.#holding = true;
      this.#flushIn(this.#windowMs);
    } else this.#flushSoon();
  }

  /** What held the flush has ended: a flush waiting for it goes now. */
  release(): void {
    if (!this.#holding) return;
    this.#timer?.();
    this.#flushSoon();
  }

  /** Drops what a subscriber that left had pending. */
  forget(subscriber: S): void {
    this.#pending.delete(subscriber);
  }

  clear(): void {
    this.#timer?.();
    this.#timer = undefined;
    this.#holding = false;
    this.#pending.clear();
  }

  #flushIn(ms: number): void {
    const timeout = setTimeout(() => this.#flush(), ms);
    this.#timer = () => clearTimeout(timeout);
  }

  /**
   * After the current task's synchronous work (a batch of notifications
   * parsed from one read, an upload's announcement), not a timer's turn
   * later (Node's shortest is 1 ms): the page read starts while the
   * upload's answer is still being written.
   */
  #flushSoon(): void {
    this.#holding = false;
    let cancelled = false;
    queueMicrotask(() => {
      if (!cancelled) this.#flush();
    });
    this.#timer = () => {
      cancelled = true;
    };
  }

  #flush(): void {
    this.#timer = undefined;
    this.#holding = false;
    this.#lastFlush = performance.now();
    const due = [...this.#pending];
    this.#pending.clear();
    for (const [subscriber, tables] of due) this.#deliver(subscriber, [...tables]);
  }
}
