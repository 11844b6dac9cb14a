import { mergeDeletedFlag } from './deleted-flag.ts';
import { compareStamps, type WriteStamp } from './stamp.ts';

/** One column's value and the stamp of the write that produced it. */
export type ColumnState<V = unknown> = { value: V; stamp: WriteStamp };

/** A row as the merge sees it: every synced column with its value and stamp. */
export type RowState = Record<string, ColumnState>;

/**
 * Merges one incoming column write into the stored one, last writer wins:
 * incoming wins iff its stamp is strictly greater. Equal stamps are the same
 * write, so keeping the stored one is the same result and makes retries
 * no-ops. Returns one of its arguments, never a copy.
 *
 * @example
 * ```ts
 * mergeColumn(
 *   { value: 'old', stamp: { t: 1, c: 'a' } },
 *   { value: 'new', stamp: { t: 2, c: 'b' } },
 * ); // { value: 'new', stamp: { t: 2, c: 'b' } }
 * ```
 */
export function mergeColumn<V>(
  stored: ColumnState<V> | undefined,
  incoming: ColumnState<V>,
): ColumnState<V> {
  if (stored === undefined) return incoming;
  return compareStamps(incoming.stamp, stored.stamp) > 0 ? incoming : stored;
}

/**
 * Merges an incoming row into the stored one, column by column: every column
 * present in either is merged with {@link mergeColumn}, and `deletedColumn`
 * with `deleted-flag.ts`'s one-way `mergeDeletedFlag`. Returns `stored`
 * itself when the incoming row changes nothing (so callers can skip the
 * write by identity), and `incoming` itself when there is no stored row.
 *
 * @example
 * ```ts
 * const row = mergeRow(storedRow, uploadedRow, 'is_deleted');
 * if (row !== storedRow) await save(row);
 * ```
 */
export function mergeRow(
  stored: RowState | undefined,
  incoming: RowState,
  deletedColumn: string,
): RowState {
  if (stored === undefined) return incoming;
  let result: RowState | undefined;
  for (const column of Object.keys(incoming)) {
    const theirs = incoming[column]!;
    const ours = stored[column];
    const merged =
      column === deletedColumn ? mergeDeletedFlag(ours, theirs) : mergeColumn(ours, theirs);
    if (merged !== ours) {
      // Copy on the first change only: most uploads of a stored row change
      // few columns, and an unchanged row allocates nothing.
      result ??= { ...stored };
      result[column] = merged;
    }
  }
  return result ?? stored;
}
