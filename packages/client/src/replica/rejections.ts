import type { ResolvedTable } from '@carburetor/core';
import type { SqliteStatement } from '../driver/sqlite-driver.ts';
import { quote, REJECTED_TABLE } from '../schema/names.ts';

/** Forgets that the server refused a row (the app changed it, or the server took it). */
export function clearRejection(table: ResolvedTable, id: string): SqliteStatement {
  return {
    sql: `DELETE FROM ${REJECTED_TABLE} WHERE table_key = ? AND id = ?`,
    params: [table.key, id],
  };
}

/** Removes a row from the replica, and its rejection with it. */
export function forgetRow(table: ResolvedTable, id: string): SqliteStatement[] {
  return [
    { sql: `DELETE FROM ${quote(table.sqlName)} WHERE ${quote(table.id)} = ?`, params: [id] },
    clearRejection(table, id),
  ];
}
