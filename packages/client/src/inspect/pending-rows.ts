import {
  decodeColumnMetadata,
  dirtyColumns,
  msOfWriteTime,
  type ResolvedTable,
} from '@carburetor/core';
import type { SqliteExecutor } from '../driver/sqlite-driver.ts';
import { quote, REJECTED_TABLE } from '../schema/names.ts';

/** A row with local changes the server has not acknowledged (`client.pending()`). */
export interface PendingRow {
  /** The table key (`'phone_book'`). */
  readonly table: string;
  readonly id: string;
  /** `insert`: the server has never had the row; `update`: the listed columns changed. */
  readonly op: 'insert' | 'update';
  /** The columns waiting for upload, with when each was written here (ISO 8601). */
  readonly columns: readonly { readonly name: string; readonly writtenAt: string }[];
}

/** Above this many rows per table, `pending()` lists the oldest only. */
export const PENDING_LIST_LIMIT = 500;

/**
 * The upload queue as an app or an inspector shows it: each table's dirty
 * rows that are not rejected, oldest first, with their dirty columns and
 * write times. At most {@link PENDING_LIST_LIMIT} rows per table (the
 * status's `pendingCount` counts them all).
 */
export async function listPendingRows(
  ex: SqliteExecutor,
  tables: readonly ResolvedTable[],
): Promise<PendingRow[]> {
  const rows: PendingRow[] = [];
  for (const table of tables) {
    const result = await ex.execute(
      `SELECT ${quote(table.id)} AS id, ${quote(table.dirtyFlag)} AS op, ${quote(table.columnSyncMetadata)} AS meta FROM ${quote(table.sqlName)} WHERE ${quote(table.dirtyFlag)} IS NOT NULL AND ${quote(table.id)} NOT IN (SELECT id FROM ${REJECTED_TABLE} WHERE table_key = ?) ORDER BY rowid LIMIT ${PENDING_LIST_LIMIT}`,
      [table.key],
    );
    for (const row of result.rows) {
      const id = String(row['id']);
      const meta = decodeColumnMetadata(row['meta'], `${table.key} row ${id}`);
      rows.push({
        table: table.key,
        id,
        op: row['op'] === 'insert' ? 'insert' : 'update',
        columns: dirtyColumns(meta).map((name) => ({
          name,
          writtenAt: new Date(msOfWriteTime(meta[name]!.t)).toISOString(),
        })),
      });
    }
  }
  return rows;
}
