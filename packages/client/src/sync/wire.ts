import type { HybridClock } from '@carburetor/core';
import {
  type DownloadRow,
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
 * A download row's values by column (plus last-synced-at) and its metadata,
 * its stamps' writer indexes looked up in the page's `clients` (see DownloadRow).
 */
export function decodeDownloadRow(
  table: ResolvedTable,
  columns: readonly string[],
  clients: readonly string[],
  row: DownloadRow,
): { id: string; values: Record<string, unknown>; metadata: Record<string, WireStamp> } {
  const id = row[0];
  const lastSyncedAt = row[1];
  const count = columns.length;
  const values: Record<string, unknown> = {};
  const metadata: Record<string, WireStamp> = {};
  let previous: number | undefined;
  for (let i = 0; i < count; i++) {
    const name = columns[i]!;
    const column = table.column[name];
    if (column) values[name] = fromWire(column, row[i + 2] as JsonValue);
    const sent = row[2 + count + 2 * i];
    const c = row[3 + count + 2 * i];
    if (typeof sent === 'number' && typeof c === 'number') {
      // The first stamp's time is whole, each later one a delta from the previous.
      const t = previous === undefined ? sent : previous + sent;
      previous = t;
      const client = clients[c];
      if (client !== undefined) metadata[name] = { t, c: client };
    }
  }
  values[table.lastSyncedAt] = lastSyncedAt ? normalizeSyncedAt(lastSyncedAt) : null;
  return { id, values, metadata };
}

/** Every stamp the replica sees keeps its clock above it. */
export function observeStamps(clock: HybridClock, metadata: Record<string, WireStamp>): void {
  for (const stamp of Object.values(metadata)) {
    if (Number.isSafeInteger(stamp.t) && stamp.t >= 0) clock.observe(stamp.t);
  }
}
