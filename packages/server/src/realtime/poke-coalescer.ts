/**
 * Merges pokes per subscriber over a window: a poke goes out at once when
 * none went out in the last window, otherwise when the window ends, naming
 * every table poked meanwhile. A burst of changes makes about one poke per
 * window per subscriber.
 */
export class PokeCoalescer<S> {
  readonly #windowMs: number;
  readonly #deliver: (subscriber: S, tables: string[]) => void;
  readonly #pending = new Map<S, Set<string>>();
  /** Cancels the flush that is due. */
  #timer: (() => void) | undefined;
  #lastFlush = Number.NEGATIVE_INFINITY;

  constructor(windowMs: number, deliver: (subscriber: S, tables: string[]) => void) {
    this.#windowMs = windowMs;
    this.#deliver = deliver;
  }

  poke(subscriber: S, tableKey: string): void {
    let tables = this.#pending.get(subscriber);
    if (!tables) {
      tables = new Set();
      this.#pending.set(subscriber, tables);
    }
    tables.add(tableKey);
    if (this.#timer === undefined) {
      const wait = this.#lastFlush + this.#windowMs - performance.now();
      if (wait <= 0) {
        // At once when the last delivery is a window old: after this batch of notifications
        // (the I/O callbacks of this turn), not after a timer's turn (Node's shortest is 1 ms).
        const immediate = setImmediate(() => this.#flush());
        this.#timer = () => clearImmediate(immediate);
      } else {
        const timeout = setTimeout(() => this.#flush(), wait);
        this.#timer = () => clearTimeout(timeout);
      }
    }
  }

  /** Drops what a subscriber that left had pending. */
  forget(subscriber: S): void {
    this.#pending.delete(subscriber);
  }

  clear(): void {
    this.#timer?.();
    this.#timer = undefined;
    this.#pending.clear();
  }

  #flush(): void {
    this.#timer = undefined;
    this.#lastFlush = performance.now();
    const due = [...this.#pending];
    this.#pending.clear();
    for (const [subscriber, tables] of due) this.#deliver(subscriber, [...tables]);
  }
}
