import type {
  ClientColumnMetadata,
  ClientColumnStamp,
  ServerColumnMetadata,
} from './column-metadata.ts';
import { deletionWinner } from './deleted-flag.ts';
import { compareStamps, type WriteStamp } from './stamp.ts';

/** A row as the replica holds it: its values and its client column metadata. */
export type LocalRow = { values: Record<string, unknown>; metadata: ClientColumnMetadata };

/** A row as a download page brings it: its values and the server's column metadata. */
export type IncomingRow = { values: Record<string, unknown>; metadata: ServerColumnMetadata };

/** The row to write after {@link mergeIncomingRow}, and whether anything differs. */
export type MergedRow = {
  values: Record<string, unknown>;
  metadata: ClientColumnMetadata;
  changed: boolean;
};

/**
 * Whether a downloaded column value replaces the local one. A dirty local
 * column is never overwritten (the local write is still to be uploaded and
 * merged by the server). Otherwise the incoming value is taken when its stamp
 * is not older than the local one: a page computed before my acknowledged
 * upload carries an older stamp and must not undo it, while an equal stamp is
 * the same write and harmless to take.
 *
 * @example
 * ```ts
 * decideIncomingColumn({ t: 5, c: 'me', d: 1 }, { t: 9, c: 'other' }); // 'keep'
 * decideIncomingColumn({ t: 5, c: 'me' }, { t: 9, c: 'other' }); // 'take'
 * decideIncomingColumn({ t: 9, c: 'me' }, { t: 5, c: 'other' }); // 'keep'
 * ```
 */
export function decideIncomingColumn(
  local: ClientColumnStamp | undefined,
  incoming: WriteStamp,
): 'take' | 'keep' {
  if (local === undefined) return 'take';
  if (local.d === 1) return 'keep';
  return compareStamps(incoming, local) >= 0 ? 'take' : 'keep';
}

/**
 * Merges one downloaded row into the replica's copy, column by column with
 * {@link decideIncomingColumn}. The deleted flag is a one-way switch
 * (`deleted-flag.ts`'s `deletionWinner`): the result is deleted when either
 * side is (truthy), and an incoming deletion overrides a local not-deleted
 * value even when that one is dirty (it could never win at the server). Incoming columns without a stamp (bookkeeping
 * such as `last_synced_at`) are taken only when the replica holds no stamp
 * for them. Columns only in the local row are kept.
 *
 * Inputs are never mutated; the result shares unchanged objects with them,
 * and is `local`'s own objects when `changed` is false.
 *
 * @param local The replica's row, or `undefined` when the replica lacks it.
 * @example
 * ```ts
 * const { values, metadata, changed } = mergeIncomingRow(localRow, pageRow, 'is_deleted');
 * if (changed) writeRow(values, encodeColumnMetadata(metadata));
 * ```
 */
export function mergeIncomingRow(
  local: LocalRow | undefined,
  incoming: IncomingRow,
  deletedColumn: string,
): MergedRow {
  return takeColumns(local, incoming, (column, ours, theirs) => {
    const winner =
      column === deletedColumn
        ? deletionWinner(local?.values[column], incoming.values[column])
        : undefined;
    if (winner !== undefined) return winner === 'theirs';
    if (theirs === undefined) return ours === undefined;
    return decideIncomingColumn(ours, theirs) === 'take';
  });
}

/**
 * Takes a downloaded row as the truth for every column the replica has not
 * changed since its last upload: for a reset pass after the server's
 * database history changed (a failover to a standby that lacked some
 * writes). Newer local stamps and a local deletion came from the lost
 * history, which the server no longer has: they give way, the deleted flag
 * included. Dirty columns (local writes not yet acknowledged) are kept,
 * to be uploaded as usual.
 *
 * @example
 * ```ts
 * const { values, metadata, changed } = replaceCleanColumns(localRow, pageRow, 'is_deleted');
 * ```
 */
export function replaceCleanColumns(
  local: LocalRow | undefined,
  incoming: IncomingRow,
  deletedColumn: string,
): MergedRow {
  return takeColumns(local, incoming, (column, ours) => {
    if (ours?.d !== 1) return true;
    // A dirty local deletion is the app's: it stays, and uploads.
    return column === deletedColumn && !local?.values[column];
  });
}

/**
 * The row after taking the incoming value and stamp of every column `take`
 * says yes to (the rest stay local); shares unchanged objects with the
 * inputs, and is `local`'s own objects when nothing changed.
 */
function takeColumns(
  local: LocalRow | undefined,
  incoming: IncomingRow,
  take: (
    column: string,
    ours: ClientColumnStamp | undefined,
    theirs: WriteStamp | undefined,
  ) => boolean,
): MergedRow {
  if (local === undefined) {
    return { values: incoming.values, metadata: incoming.metadata, changed: true };
  }
  let values: Record<string, unknown> | undefined;
  let metadata: ClientColumnMetadata | undefined;
  for (const column of Object.keys(incoming.values)) {
    const value = incoming.values[column];
    const theirs = incoming.metadata[column];
    const ours = local.metadata[column];
    if (!take(column, ours, theirs)) continue;
    if (!sameValue(local.values[column], value) || !(column in local.values)) {
      values ??= { ...local.values };
      values[column] = value;
    }
    if (theirs === undefined) {
      if (ours !== undefined) {
        // The value taken came without a stamp: the local stamp described the value it replaced.
        metadata ??= { ...local.metadata };
        delete metadata[column];
      }
    } else if (ours === undefined || ours.t !== theirs.t || ours.c !== theirs.c || ours.d === 1) {
      metadata ??= { ...local.metadata };
      metadata[column] = { t: theirs.t, c: theirs.c };
    }
  }
  return {
    values: values ?? local.values,
    metadata: metadata ?? local.metadata,
    changed: values !== undefined || metadata !== undefined,
  };
}

/**
 * Value equality for what a column can hold (JSON values, bytes, dates),
 * so an identical re-sent row is not reported as changed.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.byteLength !== b.byteLength) {
      return false;
    }
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(y, key) || !sameValue(x[key], y[key])) return false;
  }
  return true;
}
