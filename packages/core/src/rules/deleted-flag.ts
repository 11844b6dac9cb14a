import type { LocalRow, MergedRow } from './client-merge.ts';
import type { ServerColumnMetadata } from './column-metadata.ts';
import type { ColumnState } from './server-merge.ts';
import { compareStamps } from './stamp.ts';

/*
 * The deleted flag is a one-way switch (docs/sync-semantics.md §3, §5, §6):
 * once a row is deleted anywhere it is deleted everywhere, and nothing turns
 * the flag back. Every place that merges, acknowledges or applies the flag
 * asks this module. Two SQL twins say the same rule on the server:
 * `server/src/upload/merge-sql.ts` (the upload merge) and
 * `server/src/schema/stamp-trigger.ts` (un-deletes refused);
 * `server/src/__tests__/deleted-flag.property.test.ts` checks they agree.
 */

/**
 * Whether a flag value means deleted. Truthy counts, so SQLite's `1` works
 * as well as `true`.
 *
 * @example
 * ```ts
 * isDeleted(1); // true
 * isDeleted(false); // false
 * ```
 */
export function isDeleted(value: unknown): boolean {
  return Boolean(value);
}

/**
 * The flag after two writes meet, in any order: deleted when either is.
 *
 * @example
 * ```ts
 * mergedDeleted(false, true); // true
 * mergedDeleted(true, false); // true
 * ```
 */
export function mergedDeleted(a: unknown, b: unknown): boolean {
  return isDeleted(a) || isDeleted(b);
}

/**
 * Whether a write may take the flag from `before` to `after`: anything but an
 * un-delete. The stamp trigger refuses the others (a plain SQL update cannot
 * un-delete a row, §5).
 *
 * @example
 * ```ts
 * mayBecome(true, false); // false
 * mayBecome(false, true); // true
 * ```
 */
export function mayBecome(before: unknown, after: unknown): boolean {
  return mergedDeleted(before, after) === isDeleted(after);
}

/**
 * Which side the flag alone decides for, whatever stamps or dirty marks say:
 * the deleted one when exactly one side is deleted, `undefined` when both
 * agree and the column's ordinary rule decides.
 *
 * @example
 * ```ts
 * deletionWinner(false, true); // 'theirs'
 * deletionWinner(true, true); // undefined
 * ```
 */
export function deletionWinner(ours: unknown, theirs: unknown): 'ours' | 'theirs' | undefined {
  const mine = isDeleted(ours);
  if (mine === isDeleted(theirs)) return undefined;
  return mine ? 'ours' : 'theirs';
}

/**
 * Merges the deleted flag, a one-way switch: once true it stays true. The
 * result is the greatest state ordered by (value, stamp) with true above
 * false, which keeps the merge commutative, associative and idempotent, so
 * the surviving stamp is the same whatever the arrival order. A value counts
 * as true when truthy (so SQLite's `1` works too). Returns one of its
 * arguments.
 *
 * @example
 * ```ts
 * mergeDeletedFlag(
 *   { value: true, stamp: { t: 1, c: 'a' } },
 *   { value: false, stamp: { t: 9, c: 'b' } },
 * ); // { value: true, stamp: { t: 1, c: 'a' } }
 * ```
 */
export function mergeDeletedFlag<V>(
  stored: ColumnState<V> | undefined,
  incoming: ColumnState<V>,
): ColumnState<V> {
  if (stored === undefined) return incoming;
  const winner = deletionWinner(stored.value, incoming.value);
  if (winner !== undefined) return winner === 'ours' ? stored : incoming;
  return compareStamps(incoming.stamp, stored.stamp) > 0 ? incoming : stored;
}

/**
 * The deleted flag of an uploaded row when the server's answer comes back:
 * the replica's value and the value the server resolved.
 */
export type AcknowledgedFlag = { column: string; local: unknown; resolved: unknown };

/**
 * Whether an upload's answer sets the local flag to the server's deletion
 * whatever the stamps or a dirty mark say: the server holds the row deleted
 * and the replica does not. It needs the server's stamp for the flag, which
 * the replica then keeps. A local deletion the server's answer lacks is left
 * to the stamps, as for any column.
 *
 * @example
 * ```ts
 * takesResolvedDeletion({ column: 'is_deleted', local: false, resolved: true }, {
 *   is_deleted: { t: 1, c: 'a' },
 * }); // true
 * ```
 */
export function takesResolvedDeletion(
  flag: AcknowledgedFlag,
  resolved: ServerColumnMetadata,
): boolean {
  return (
    resolved[flag.column] !== undefined && deletionWinner(flag.local, flag.resolved) === 'theirs'
  );
}

/**
 * Applies an id-only tombstone (a row deleted on the server, sent without
 * its columns) to the replica's copy: the flag turns true whatever its stamp
 * or dirty mark, and its local stamp is dropped, since it described the
 * value that lost and the tombstone carries none. The other columns stay as
 * they are (a dirty one is still the app's unsent work). A copy already
 * deleted is left alone (`changed` false, `local`'s own objects).
 *
 * @example
 * ```ts
 * const { values, metadata, changed } = applyTombstone(localRow, 'is_deleted');
 * if (changed) writeRow(values, encodeColumnMetadata(metadata));
 * ```
 */
export function applyTombstone(local: LocalRow, deletedColumn: string): MergedRow {
  if (isDeleted(local.values[deletedColumn])) {
    return { values: local.values, metadata: local.metadata, changed: false };
  }
  let metadata = local.metadata;
  if (metadata[deletedColumn] !== undefined) {
    metadata = { ...metadata };
    delete metadata[deletedColumn];
  }
  return { values: { ...local.values, [deletedColumn]: true }, metadata, changed: true };
}
