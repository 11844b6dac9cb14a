import type { ResolvedTable } from '@carburetor/core';
import type { SqliteExecutor } from '../driver/sqlite-driver.ts';
import { caughtUpKey, quote, REJECTED_TABLE, STATE_TABLE } from '../schema/names.ts';

/** The status counts read from the replica. */
export interface PendingCounts {
  pendingCount: number;
  rejectedCount: number;
  /** Every group has been downloaded to its end at least once. */
  hasSynced: boolean;
}

/**
 * Counts the rows waiting for upload (dirty, not rejected) in `tables`, and
 * the rejected rows, and whether every one of `groups` has been downloaded
 * to its end once. One statement; the dirty rows are read through the
 * partial index over the dirty flag.
 */
export async function countPending(
  ex: SqliteExecutor,
  tables: readonly ResolvedTable[],
  groups: readonly string[],
): Promise<PendingCounts> {
  const params: string[] = [];
  const parts = tables.map((table) => {
    params.push(table.key);
    const id = quote(table.id);
    return `(SELECT count(*) FROM ${quote(table.sqlName)} AS t WHERE t.${quote(table.dirtyFlag)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${REJECTED_TABLE} AS r WHERE r.table_key = ? AND r.id = t.${id}))`;
  });
  const pending = parts.length === 0 ? '0' : parts.join(' + ');
  const result = await ex.execute(
    `SELECT ${pending} AS pending, (SELECT count(*) FROM ${REJECTED_TABLE}) AS rejected, (SELECT count(*) FROM ${STATE_TABLE} WHERE key IN (SELECT value FROM json_each(?))) AS caught_up`,
    [...params, JSON.stringify(groups.map(caughtUpKey))],
  );
  const row = result.rows[0];
  return {
    pendingCount: Number(row?.['pending'] ?? 0),
    rejectedCount: Number(row?.['rejected'] ?? 0),
    hasSynced: Number(row?.['caught_up'] ?? 0) === groups.length,
  };
}
