import {
  columnTypes,
  isDeleted,
  type LeanRowResult,
  type ResolvedTable,
  type RowState,
  type ServerColumn,
  type UploadRow,
  type WireMetadata,
  type WireRow,
  type WriteStamp,
  wireValueOfPg,
} from '@carburetor/core';

/** A row as PostgreSQL returns it (exact parsers): column name → raw value. */
export type RawRow = Readonly<Record<string, unknown>>;

/**
 * The stamp given to a stored column that has no metadata entry (a row
 * written before Carburetor managed the table). It is below every real
 * write time, so any write beats it, as the SQL merge decides for a missing
 * entry.
 */
const UNSTAMPED: WriteStamp = Object.freeze({ t: -1, c: '' });

function storedMetadata(table: ResolvedTable, raw: RawRow): WireMetadata {
  const stored = raw[table.columnSyncMetadata];
  const metadata: WireMetadata = {};
  if (stored === null || typeof stored !== 'object') return metadata;
  const entries = stored as Record<string, { t?: unknown; c?: unknown } | null>;
  for (const name of table.syncedColumns) {
    const entry = entries[name];
    if (entry && typeof entry.t === 'number' && typeof entry.c === 'string') {
      metadata[name] = { t: entry.t, c: entry.c };
    }
  }
  return metadata;
}

/** A stored row in the form the merge rules take: each synced column's wire value and stamp. */
export function storedRowState(table: ResolvedTable, raw: RawRow): RowState {
  const metadata = storedMetadata(table, raw);
  const state: RowState = {};
  for (const name of table.syncedColumns) {
    const column = table.column[name]!;
    state[name] = { value: wireValueOfPg(column, raw[name]), stamp: metadata[name] ?? UNSTAMPED };
  }
  return state;
}

/** A stored row's last-synced-at in canonical ISO form ('' when it has none), converted once per distinct value. */
function syncedAtOf(table: ResolvedTable, raw: RawRow, timestamps: Map<unknown, string>): string {
  const lastSyncedAt = raw[table.lastSyncedAt];
  if (lastSyncedAt === null || lastSyncedAt === undefined) return '';
  // Rows written by one statement share their last-synced-at: convert each text once.
  const synced = timestamps.get(lastSyncedAt) ?? columnTypes.timestamptz.fromPg(lastSyncedAt);
  timestamps.set(lastSyncedAt, synced);
  return synced;
}

/**
 * Protocol 3's OK for an uploaded row, lean: the client holds what it sent,
 * so a column the row carried whose stored stamp is the one it sent (its
 * write time, the request's client id) is left out. `others` gives the
 * value and stamp of each carried column whose write lost (the client shows
 * the winner at once), of the deleted flag when another write deleted the
 * row (an update of a deleted row is answered with the row, deleted), and,
 * for an insert, of the columns it did not carry (the defaults the server
 * filled in). An update's other columns are left to the next download.
 * `syncedAt` is always set here; the caller drops it where it is the table's.
 *
 * @example
 * ```ts
 * const answer = leanRowResult(table, storedRow, request.tables.phone_book[0], 'device-1');
 * // { id, ok: true, syncedAt } when every column it sent won
 * ```
 */
export function leanRowResult(
  table: ResolvedTable,
  raw: RawRow,
  sent: UploadRow,
  clientId: string,
  timestamps: Map<unknown, string> = new Map(),
): LeanRowResult & { syncedAt: string } {
  const metadata = storedMetadata(table, raw);
  let others: Record<string, ServerColumn> | undefined;
  for (const name of table.syncedColumns) {
    const stamp = metadata[name];
    if (stamp === undefined) continue; // no stamp: nothing the client could take
    const carried = Object.hasOwn(sent.columns, name) ? sent.columns[name] : undefined;
    const own = carried !== undefined && carried.t === stamp.t && stamp.c === clientId;
    const deletedByOther = name === table.isDeleted && isDeleted(raw[name]) && !own;
    if (own || (carried === undefined && sent.op === 'update' && !deletedByOther)) continue;
    others ??= {};
    others[name] = { value: wireValueOfPg(table.column[name]!, raw[name]), t: stamp.t, c: stamp.c };
  }
  return {
    id: String(raw[table.id]),
    ok: true,
    ...(others ? { others } : {}),
    syncedAt: syncedAtOf(table, raw, timestamps),
  };
}

/**
 * A stored row as the protocol sends it: id, last-synced-at in canonical ISO
 * form, the synced columns' stamps, then their values in `syncedColumns`
 * order. `timestamps` caches converted last-synced-at texts across calls.
 */
export function wireRowOf(
  table: ResolvedTable,
  raw: RawRow,
  timestamps: Map<unknown, string> = new Map(),
): WireRow {
  const row: WireRow = [
    String(raw[table.id]),
    syncedAtOf(table, raw, timestamps),
    storedMetadata(table, raw),
  ];
  for (const name of table.syncedColumns) row.push(wireValueOfPg(table.column[name]!, raw[name]));
  return row;
}
