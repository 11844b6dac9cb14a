/**
 * Reports the first error of a burst and counts the rest: a restart of
 * PostgreSQL breaks every pooled connection at once, and one line per
 * connection (or per reconnect attempt) would drown the log. After `quietMs`
 * without a report, the next error is reported again, with how many were
 * left out since the last one.
 *
 * @example
 * ```ts
 * const report = burstReporter((error, skipped) => console.warn('lost PostgreSQL', error, skipped));
 * pool.on('error', report);
 * ```
 */
export function burstReporter(
  report: (error: unknown, skipped: number) => void,
  quietMs = 30_000,
): (error: unknown) => void {
  let lastReport = Number.NEGATIVE_INFINITY;
  let skipped = 0;
  return (error) => {
    const now = performance.now();
    if (now - lastReport < quietMs) {
      skipped++;
      return;
    }
    lastReport = now;
    const count = skipped;
    skipped = 0;
    try {
      report(error, count);
    } catch {
      // Reporting must never become the crash it is there to prevent.
    }
  };
}
