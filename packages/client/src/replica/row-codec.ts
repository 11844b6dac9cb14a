import {
  type ClientColumnMetadata,
  decodeColumnMetadata,
  encodeColumnMetadata,
  type ResolvedColumn,
  type ResolvedTable,
} from '@carburetor/core';
import type { SqliteExecutor, SqliteValue } from '../driver/sqlite-driver.ts';
import { quote } from '../schema/names.ts';

/** A row of the replica, decoded: app values by column, metadata and dirty flag. */
export interface StoredRow {
  id: string;
  /** Synced columns and last-synced-at, as app values. */
  values: Record<string, unknown>;
  metadata: ClientColumnMetadata;
  dirty: 'insert' | 'update' | null;
}

/** An app value → what SQLite stores for the column. */
export function toStored(column: ResolvedColumn, value: unknown): SqliteValue {
  if (value === null || value === undefined) return null;
  if (column.role === 'isDeleted') return value ? 1 : 0;
  if (column.role !== 'data') return value as SqliteValue;
  return column.type.toSqlite(value as never);
}

/** What SQLite returned for the column → the app value. */
export function fromStored(column: ResolvedColumn, raw: unknown): unknown {
  if (raw === null || raw === undefined) return null;
  if (column.role === 'isDeleted') return Number(raw) !== 0;
  if (column.role !== 'data') return raw;
  return column.type.fromSqlite(raw);
}

/** The columns a stored row carries values for: synced columns and last-synced-at. */
export function valueColumns(table: ResolvedTable): string[] {
  return [...table.syncedColumns, table.lastSyncedAt];
}

function selectSql(table: ResolvedTable, count: number): string {
  const columns = [table.id, ...valueColumns(table), table.columnSyncMetadata, table.dirtyFlag].map(
    quote,
  );
  return `SELECT ${columns.join(', ')} FROM ${quote(table.sqlName)} WHERE ${quote(table.id)} IN (${Array(count).fill('?').join(', ')})`;
}

/** Decodes one SQLite row of `table` (selected with every column). */
export function decodeStoredRow(table: ResolvedTable, row: Record<string, unknown>): StoredRow {
  const id = String(row[table.id]);
  const values: Record<string, unknown> = {};
  for (const name of valueColumns(table)) {
    values[name] = fromStored(table.column[name]!, row[name]);
  }
  const dirty = row[table.dirtyFlag];
  return {
    id,
    values,
    metadata: decodeColumnMetadata(row[table.columnSyncMetadata], `${table.sqlName} row ${id}`),
    dirty: dirty === 'insert' || dirty === 'update' ? dirty : null,
  };
}

const CHUNK = 500;

/** Reads the rows with these ids, keyed by id (missing ids are absent). */
export async function readRows(
  ex: SqliteExecutor,
  table: ResolvedTable,
  ids: readonly string[],
): Promise<Map<string, StoredRow>> {
  const out = new Map<string, StoredRow>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    const result = await ex.execute(selectSql(table, chunk.length), chunk);
    for (const row of result.rows) {
      const decoded = decodeStoredRow(table, row);
      out.set(decoded.id, decoded);
    }
  }
  return out;
}

/** A statement that writes a whole stored row (insert or replace every column Carburetor owns). */
export function upsertStatement(
  table: ResolvedTable,
  row: StoredRow,
): { sql: string; params: SqliteValue[] } {
  const names = [table.id, ...valueColumns(table), table.columnSyncMetadata, table.dirtyFlag];
  const params: SqliteValue[] = [row.id];
  for (const name of valueColumns(table))
    params.push(toStored(table.column[name]!, row.values[name]));
  params.push(encodeColumnMetadata(row.metadata), row.dirty);
  const updates = names
    .slice(1)
    .map((n) => `${quote(n)} = excluded.${quote(n)}`)
    .join(', ');
  return {
    sql: `INSERT INTO ${quote(table.sqlName)} (${names.map(quote).join(', ')}) VALUES (${names.map(() => '?').join(', ')}) ON CONFLICT (${quote(table.id)}) DO UPDATE SET ${updates}`,
    params,
  };
}

/** The app's view of a stored row: id, data columns, deleted flag, last-synced-at. */
export function appRow(table: ResolvedTable, row: StoredRow): Record<string, unknown> {
  const out: Record<string, unknown> = { [table.id]: row.id };
  for (const column of table.dataColumns) out[column.name] = row.values[column.name] ?? null;
  out[table.isDeleted] = Boolean(row.values[table.isDeleted]);
  out[table.lastSyncedAt] = row.values[table.lastSyncedAt] ?? null;
  return out;
}
