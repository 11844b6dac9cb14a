import type { ResolvedTable } from '@carburetor/core';
import type { SqliteStatement } from '../driver/sqlite-driver.ts';
import { CURSOR_TABLE, quote, REJECTED_TABLE, SEEN_TABLE, STATE_TABLE } from '../schema/names.ts';
import type { Replica } from './replica.ts';

/**
 * Empties a replica of what it learned from a user: the tables' rows,
 * cursors, rejections, reset passes, learned scopes, first-sync marks and first-download progress. The client id and
 * the clock stay (they are the device's, not the user's).
 */
export function wipeStatements(tables: readonly ResolvedTable[]): SqliteStatement[] {
  return [
    ...tables.map((t) => ({ sql: `DELETE FROM ${quote(t.sqlName)}` })),
    { sql: `DELETE FROM ${CURSOR_TABLE}` },
    { sql: `DELETE FROM ${REJECTED_TABLE}` },
    { sql: `DELETE FROM ${SEEN_TABLE}` },
    {
      sql: `DELETE FROM ${STATE_TABLE} WHERE key LIKE 'scope:%' OR key LIKE 'sweep:%' OR key LIKE 'caught_up:%' OR key LIKE 'progress:%'`,
    },
  ];
}

/** Wipes the replica ({@link wipeStatements}) in one transaction, and forgets its learned scopes. */
export async function wipeReplica(
  replica: Replica,
  tables: readonly ResolvedTable[],
): Promise<void> {
  await replica.transaction((ex) => ex.executeBatch(wipeStatements(tables)));
  replica.forgetScopes();
}
