import type { ClientColumnMetadata, ServerColumnMetadata } from './column-metadata.ts';
import { type AcknowledgedFlag, takesResolvedDeletion } from './deleted-flag.ts';
import { compareStamps, type WriteStamp } from './stamp.ts';

/** The result of {@link acknowledge}. */
export type Acknowledgement = {
  /** The row's new client metadata. */
  metadata: ClientColumnMetadata;
  /** Columns whose local value must be replaced by the server's resolved value. */
  takeResolvedValue: string[];
};

/**
 * Records a local write: the given columns get the write's stamp and the dirty
 * mark. Returns a new object; `meta` is not mutated.
 *
 * @example
 * ```ts
 * markDirty({}, ['title'], { t: 1_700_000_000_000_000, c: 'dev-1' });
 * // { title: { t: 1700000000000000, c: 'dev-1', d: 1 } }
 * ```
 */
export function markDirty(
  meta: ClientColumnMetadata,
  columns: readonly string[],
  stamp: WriteStamp,
): ClientColumnMetadata {
  const out: ClientColumnMetadata = { ...meta };
  for (const column of columns) out[column] = { t: stamp.t, c: stamp.c, d: 1 };
  return out;
}

/**
 * The columns written locally and not yet acknowledged, in metadata order.
 *
 * @example
 * ```ts
 * dirtyColumns({ a: { t: 1, c: 'x', d: 1 }, b: { t: 1, c: 'x' } }); // ['a']
 * ```
 */
export function dirtyColumns(meta: ClientColumnMetadata): string[] {
  const out: string[] = [];
  for (const column of Object.keys(meta)) if (meta[column]!.d === 1) out.push(column);
  return out;
}

/**
 * The write time of each dirty column being uploaded, to pass to
 * {@link acknowledge} when the answer comes back. Limited to `columns` when
 * given (clean columns among them are left out).
 *
 * @example
 * ```ts
 * const uploaded = uploadSnapshot(meta); // { title: 1700000000000000 }
 * ```
 */
export function uploadSnapshot(
  meta: ClientColumnMetadata,
  columns?: readonly string[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const column of columns ?? Object.keys(meta)) {
    const entry = meta[column];
    if (entry?.d === 1) out[column] = entry.t;
  }
  return out;
}

/**
 * Applies the server's OK for an uploaded row. The dirty mark is cleared
 * exactly for columns whose write time is still the uploaded one: a column
 * written again while the upload was in flight stays dirty, so that newer
 * write is uploaded next. Every column not dirty afterwards takes the
 * resolved server stamp when it is newer than the local one (a lost write
 * shows the winner at once); a resolved stamp older than the local one, e.g.
 * from a download applied meanwhile, is ignored so it cannot undo that
 * download. Equal stamps are the same write and need no change.
 *
 * The deleted flag, when `deleted` describes it, is one-way whatever the
 * stamps: a deletion the server holds and the replica does not is taken
 * with its stamp, even over a dirty mark (`deleted-flag.ts`).
 *
 * @param uploaded What {@link uploadSnapshot} returned when the upload was sent.
 * @param resolved The server's column metadata for the row in its answer.
 * @param deleted The deleted flag's column, local value and resolved value.
 * @example
 * ```ts
 * const { metadata, takeResolvedValue } = acknowledge(meta, uploaded, answer.metadata, {
 *   column: 'is_deleted',
 *   local: row.is_deleted,
 *   resolved: answer.values.is_deleted,
 * });
 * for (const column of takeResolvedValue) row[column] = answer.values[column];
 * ```
 */
export function acknowledge(
  meta: ClientColumnMetadata,
  uploaded: Readonly<Record<string, number>>,
  resolved: ServerColumnMetadata,
  deleted?: AcknowledgedFlag,
): Acknowledgement {
  const metadata: ClientColumnMetadata = {};
  for (const column of Object.keys(meta)) {
    const entry = meta[column]!;
    metadata[column] =
      entry.d === 1 && Object.hasOwn(uploaded, column) && uploaded[column] === entry.t
        ? { t: entry.t, c: entry.c }
        : entry;
  }
  const takeResolvedValue: string[] = [];
  for (const column of Object.keys(resolved)) {
    const theirs = resolved[column]!;
    const ours = metadata[column];
    if (ours !== undefined && (ours.d === 1 || compareStamps(theirs, ours) <= 0)) continue;
    metadata[column] = { t: theirs.t, c: theirs.c };
    takeResolvedValue.push(column);
  }
  if (
    deleted !== undefined &&
    !takeResolvedValue.includes(deleted.column) &&
    takesResolvedDeletion(deleted, resolved)
  ) {
    const theirs = resolved[deleted.column]!;
    metadata[deleted.column] = { t: theirs.t, c: theirs.c };
    takeResolvedValue.push(deleted.column);
  }
  return { metadata, takeResolvedValue };
}
