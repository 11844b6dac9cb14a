/**
 * A FIFO async lock. SQLite has one connection per replica, so every
 * multi-statement unit (a kysely transaction, a batch) must hold it from its
 * first statement to its last.
 *
 * @example
 * ```ts
 * const mutex = new AsyncMutex();
 * await mutex.run(async () => { await step1(); await step2(); });
 * ```
 */
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier holder has finished, and holds the lock until it settles. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    // Later callers wait for this one whether it fails or not.
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
