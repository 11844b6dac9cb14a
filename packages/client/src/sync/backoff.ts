/**
 * How long to wait before retrying a failing sync (`client.start({ backoff })`).
 *
 * @example
 * ```ts
 * client.start({ backoff: { baseMs: 500, maxMs: 30_000 } satisfies BackoffOptions });
 * ```
 */
export interface BackoffOptions {
  /** The wait after the first failure, before jitter. */
  baseMs: number;
  /** The longest wait. */
  maxMs: number;
}

/**
 * The wait after `failures` consecutive failed syncs (1, 2, ...): doubling
 * from `baseMs`, capped at `maxMs`, with "equal jitter" (the upper half of
 * the range is random). Clients that failed together spread out, and a wait
 * is never shorter than the one before it (until the cap).
 *
 * @param random a number in [0, 1), `Math.random` by default
 */
export function backoffDelay(
  failures: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 40);
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return ceiling / 2 + (ceiling / 2) * random();
}
