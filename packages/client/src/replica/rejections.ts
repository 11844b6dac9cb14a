import type { ResolvedTable } from '@carburetor/core';
import type { SqliteStatement } from '../driver/sqlite-driver.ts';
import { quote, REJECTED_TABLE } from '../schema/names.ts';

/**
 * Why the client itself set a row aside (quarantined it), beside the
 * server's per-row refusals:
 * - `corrupt_local_row`: the replica's row cannot be read or encoded for
 *   upload (damaged metadata, a value outside its column's domain).
 * - `undecodable_download`: the server's version of the row (a download
 *   page, an upload answer) holds a value this client cannot decode, e.g. a
 *   BC date or `infinity` stored by an outside write. The rest of the page
 *   applies and the cursor moves on; the row arrives, and the entry clears,
 *   once the value is fixed on the server.
 * - `upload_refused`: the server refused every upload request that carried
 *   this row (BAD_REQUEST, PAYLOAD_TOO_LARGE, UNPROCESSABLE_CONTENT) while it
 *   accepted the same request without it.
 */
export type LocalRejectionCode = 'corrupt_local_row' | 'undecodable_download' | 'upload_refused';

/** Every {@link LocalRejectionCode}, for code that tells local quarantines from server refusals. */
export const LOCAL_REJECTION_CODES: readonly LocalRejectionCode[] = Object.freeze([
  'corrupt_local_row',
  'undecodable_download',
  'upload_refused',
]);

/** Why a replica row is set aside as `corrupt_local_row`. */
export function corruptMessage(table: ResolvedTable, id: string, reason: string): string {
  return `${table.key} ${id} cannot be read or uploaded (${reason}): it was changed behind the client's back. client.discard(${JSON.stringify(id)}) replaces it with the server's version.`;
}

/** Why a row is set aside as `undecodable_download`. */
export function undecodableMessage(table: ResolvedTable, id: string, problems: readonly string[]) {
  return `${table.key} ${id}: the server's version holds a value this client cannot take (${problems.join('; ')}). The rest of the sync goes on; the row arrives once the value is fixed on the server, or client.discard(${JSON.stringify(id)}) drops the local copy.`;
}

/** Forgets that the server refused a row (the app changed it, or the server took it). */
export function clearRejection(table: ResolvedTable, id: string): SqliteStatement {
  return {
    sql: `DELETE FROM ${REJECTED_TABLE} WHERE table_key = ? AND id = ?`,
    params: [table.key, id],
  };
}

/** Forgets one kind of local quarantine of a row (its cause went away), leaving other entries. */
export function clearQuarantine(
  table: ResolvedTable,
  id: string,
  code: LocalRejectionCode,
): SqliteStatement {
  return {
    sql: `DELETE FROM ${REJECTED_TABLE} WHERE table_key = ? AND id = ? AND code = ?`,
    params: [table.key, id, code],
  };
}

/**
 * Records a row as rejected or quarantined: listed by `client.rejected()`,
 * left out of uploads. A server refusal replaces an earlier entry of the
 * row; so does a `corrupt_local_row` (only `discard` repairs it). Other
 * local codes keep an earlier entry (e.g. a server refusal), whose reason
 * still holds.
 */
export function rejectStatement(
  table: ResolvedTable,
  id: string,
  code: string,
  message: string,
  at: number,
): SqliteStatement {
  const keep = code === 'undecodable_download' || code === 'upload_refused';
  return {
    sql: `INSERT OR ${keep ? 'IGNORE' : 'REPLACE'} INTO ${REJECTED_TABLE} (table_key, id, code, message, rejected_at) VALUES (?, ?, ?, ?, ?)`,
    params: [table.key, id, code, message, at],
  };
}

/** Removes a row from the replica, and its rejection with it. */
export function forgetRow(table: ResolvedTable, id: string): SqliteStatement[] {
  return [
    { sql: `DELETE FROM ${quote(table.sqlName)} WHERE ${quote(table.id)} = ?`, params: [id] },
    clearRejection(table, id),
  ];
}
