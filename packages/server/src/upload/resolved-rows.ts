import {
  columnTypes,
  type ResolvedTable,
  type RowState,
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
  const lastSyncedAt = raw[table.lastSyncedAt];
  let synced = '';
  if (lastSyncedAt !== null && lastSyncedAt !== undefined) {
    // Rows written by one statement share their last-synced-at: convert each text once.
    synced = timestamps.get(lastSyncedAt) ?? columnTypes.timestamptz.fromPg(lastSyncedAt);
    timestamps.set(lastSyncedAt, synced);
  }
  const row: WireRow = [String(raw[table.id]), synced, storedMetadata(table, raw)];
  for (const name of table.syncedColumns) row.push(wireValueOfPg(table.column[name]!, raw[name]));
  return row;
}
