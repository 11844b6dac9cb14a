import type { AnySyncConfig } from '@carburetor/core';
import type { RejectedRow } from '../client/types.ts';
import type { SqliteDriver } from '../driver/sqlite-driver.ts';
import { REJECTED_TABLE } from '../schema/names.ts';

/** The rows the server refused or the client quarantined, oldest first (`client.rejected()`). */
export async function listRejected<C extends AnySyncConfig>(
  driver: SqliteDriver,
): Promise<RejectedRow<C>[]> {
  const result = await driver.execute(
    `SELECT table_key, id, code, message FROM ${REJECTED_TABLE} ORDER BY rejected_at, table_key, id`,
  );
  return result.rows.map((r) => ({
    table: String(r['table_key']) as RejectedRow<C>['table'],
    id: String(r['id']),
    code: String(r['code']) as RejectedRow['code'],
    message: String(r['message']),
  }));
}
