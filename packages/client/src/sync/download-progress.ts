import type { RemainingEstimate } from '@carburetor/core';

/**
 * How far the first download of one table of one group has come
 * (`status.progress`). A first download is one with no cursor yet, or one
 * the server restarted (another user signed in, the group changed).
 *
 * @example
 * ```ts
 * for (const p of client.status.progress) console.log(`${p.group}.${p.table}: ${p.done}/${p.expected}`);
 * ```
 */
export interface DownloadProgress {
  readonly group: string;
  /** The table key (`'phone_book'`). */
  readonly table: string;
  /** Entries (rows, tombstones, out-of-scope ids) of the first download applied so far. */
  readonly done: number;
  /**
   * `done` plus the entries the server counted as left in the caller's
   * scope. Rows written during the download may take `done` past the count:
   * `expected` then follows `done`, so progress never goes over 100%.
   */
  readonly expected: number;
  /**
   * `expected` is a lower bound: the server stops counting past 1,000,000 rows
   * and counts again as the download gets there.
   */
  readonly atLeast: boolean;
  /** The first download of the table has ended (`done === expected`). */
  readonly complete: boolean;
}

/** What one page said of a table, as {@link progressAfterPage} needs it. */
export interface PageProgress {
  /** Entries the page delivered. */
  readonly delivered: number;
  readonly remaining?: RemainingEstimate | undefined;
  readonly hasMore: boolean;
  /** The server restarted the table's download from scratch. */
  readonly reset: boolean;
}

/**
 * The progress of a table after one of its pages, or undefined when the
 * page is not part of a first download. `first` says whether the page
 * belongs to a first download (the request had no cursor, or one inside a
 * first pass); a reset page always does and starts the count again.
 *
 * @example
 * ```ts
 * let p = progressAfterPage(undefined, 'mine', 'phone_book', true,
 *   { delivered: 1_000, remaining: { rows: 2_500, atLeast: false }, hasMore: true, reset: false });
 * // { done: 1000, expected: 2500, atLeast: false, complete: false, ... }
 * ```
 */
export function progressAfterPage(
  before: DownloadProgress | undefined,
  group: string,
  table: string,
  first: boolean,
  page: PageProgress,
): DownloadProgress | undefined {
  if (!first && !page.reset) return undefined;
  const base = page.reset || before?.complete ? undefined : before;
  const start = base?.done ?? 0;
  const done = start + page.delivered;
  // The server counts from the page's start, this page included.
  let expected = page.remaining ? start + page.remaining.rows : (base?.expected ?? done);
  let atLeast = page.remaining ? page.remaining.atLeast : (base?.atLeast ?? false);
  if (!page.hasMore) {
    expected = done;
    atLeast = false;
  }
  expected = Math.max(expected, done);
  return Object.freeze({
    group,
    table,
    done,
    expected,
    atLeast,
    complete: !page.hasMore,
  });
}

/**
 * Whether the next page of a first download should ask the server for a
 * new count (`estimate: true`): the client has no estimate (it was made
 * before a reload, or by an older version), or it has passed a capped one.
 * The first page of a first download is counted without asking.
 *
 * @example
 * ```ts
 * needsEstimate(undefined, true); // true: a first download resumed after a reload
 * ```
 */
export function needsEstimate(progress: DownloadProgress | undefined, inPass: boolean): boolean {
  if (!inPass) return false;
  if (!progress || progress.complete) return true;
  return progress.atLeast && progress.done >= progress.expected;
}

/** The totals of some tables' progress, for one bar. */
export interface ProgressTotals {
  /** Entries applied so far, over every table in a first download. */
  readonly done: number;
  /** Entries expected over the same tables (a floor while `atLeast`). */
  readonly expected: number;
  /** A first download is under way: some table's is not complete. */
  readonly downloading: boolean;
  /**
   * Some table's count stopped at the server's limit (`MAX_REMAINING_COUNT`,
   * 1,000,000 rows left): `expected` is only a floor, and it grows each time
   * the download passes it and the server counts again.
   */
  readonly atLeast: boolean;
  /**
   * `done / expected` (0 to 1); null when it is not known: nothing is being
   * downloaded for the first time, or `atLeast` (a bar would fall back at
   * each new count: show an indeterminate one, with `done`).
   */
  readonly fraction: number | null;
}

/**
 * Sums the progress of every table in a first download: what a single
 * progress bar shows. The fraction never falls back: it is null (an
 * indeterminate bar) while a count is only a floor.
 *
 * @example
 * ```ts
 * const { downloading, fraction, done } = totalProgress(client.status.progress);
 * bar.hidden = !downloading;
 * if (fraction === null) bar.removeAttribute('value'); // indeterminate
 * else bar.value = fraction;
 * label.textContent = `${done} rows`;
 * ```
 */
export function totalProgress(progress: readonly DownloadProgress[]): ProgressTotals {
  let done = 0;
  let expected = 0;
  let downloading = false;
  let atLeast = false;
  for (const p of progress) {
    done += p.done;
    expected += p.expected;
    downloading ||= !p.complete;
    atLeast ||= p.atLeast && !p.complete;
  }
  const fraction =
    progress.length === 0 || atLeast ? null : expected === 0 ? 1 : Math.min(1, done / expected);
  return { done, expected, downloading, atLeast, fraction };
}
