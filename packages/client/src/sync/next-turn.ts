/**
 * Node's setImmediate, taken when the module loads: a test's fake timers
 * installed later do not stop the sync engine's turns.
 */
const immediate = (globalThis as { setImmediate?: (fire: () => void) => unknown }).setImmediate;

/** Browsers: a message to oneself runs as a task, without the 4 ms clamp of nested timers. */
function messageTurn(): (fire: () => void) => void {
  const waiting: (() => void)[] = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => waiting.shift()?.();
  return (fire) => {
    waiting.push(fire);
    channel.port2.postMessage(null);
  };
}

let schedule: ((fire: () => void) => unknown) | undefined;

/**
 * Resolves on a later turn of the event loop, after pending I/O and timers:
 * long work in one promise chain (a page applied to a synchronous SQLite)
 * calls it between slices, so a request sent meanwhile goes out and, with
 * the server in the same process, the server gets to answer it.
 *
 * @example
 * ```ts
 * for (const slice of slices) {
 *   await run(slice);
 *   await nextTurn();
 * }
 * ```
 */
export function nextTurn(): Promise<void> {
  schedule ??=
    immediate ??
    (typeof MessageChannel === 'function'
      ? messageTurn()
      : (fire: () => void) => setTimeout(fire, 0));
  const run = schedule;
  return new Promise((resolve) => {
    run(resolve);
  });
}
