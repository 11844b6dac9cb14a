import type { HybridClock } from '@carburetor/core';
import {
  DownloadRowReader,
  type DownloadTablePage,
  type JsonValue,
  normalizeTimestamp,
  type ResolvedColumn,
  type ResolvedTable,
  type WireRow,
  type WireStamp,
} from '@carburetor/core';

/** An app value → its wire form. */
export function toWire(column: ResolvedColumn, value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (column.role === 'isDeleted') return Boolean(value);
  return column.type.toWire(value as never);
}

/** A wire value → the app value. */
export function fromWire(column: ResolvedColumn, wire: JsonValue | undefined): unknown {
  if (wire === null || wire === undefined) return null;
  if (column.role === 'isDeleted') return Boolean(wire);
  return column.type.fromWire(wire);
}

let lastSyncedAtIn = '';
let lastSyncedAtOut = '';

/** Rows written together share their last-synced-at, so the last one is remembered. */
function normalizeSyncedAt(text: string): string {
  if (text !== lastSyncedAtIn) {
    lastSyncedAtOut = normalizeTimestamp(text);
    lastSyncedAtIn = text;
  }
  return lastSyncedAtOut;
}

/** A wire row's values by column (plus last-synced-at) and its metadata. */
export function decodeWireRow(
  table: ResolvedTable,
  columns: readonly string[],
  row: WireRow,
): { id: string; values: Record<string, unknown>; metadata: Record<string, WireStamp> } {
  const [id, lastSyncedAt, metadata] = row;
  const values: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) {
    const name = columns[i]!;
    const column = table.column[name];
    if (column) values[name] = fromWire(column, row[i + 3] as JsonValue);
  }
  values[table.lastSyncedAt] = lastSyncedAt ? normalizeSyncedAt(lastSyncedAt) : null;
  return { id, values, metadata: metadata ?? {} };
}

/**
 * A page's download rows by column (plus last-synced-at), with their metadata,
 * read in page order (times are differences between rows, see DownloadRow).
 */
export function decodeDownloadRows(
  table: ResolvedTable,
  page: DownloadTablePage,
): { id: string; values: Record<string, unknown>; metadata: Record<string, WireStamp> }[] {
  const reader = new DownloadRowReader(page);
  const columns = page.columns.map((name) => [name, table.column[name]] as const);
  return page.rows.map((row) => {
    const read = reader.read(row);
    const values: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const [name, column] = columns[i]!;
      if (column) values[name] = fromWire(column, read.values[i]);
    }
    values[table.lastSyncedAt] = read.lastSyncedAt;
    return { id: read.id, values, metadata: read.metadata };
  });
}

/** Every stamp the replica sees keeps its clock above it. */
export function observeStamps(clock: HybridClock, metadata: Record<string, WireStamp>): void {
  for (const stamp of Object.values(metadata)) {
    if (Number.isSafeInteger(stamp.t) && stamp.t >= 0) clock.observe(stamp.t);
  }
}
