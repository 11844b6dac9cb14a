import type { AnySyncConfig, ResolvedGroup, ResolvedTable } from '@carburetor/core';
import type { SqliteExecutor, SqliteStatement } from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';
import { CURSOR_TABLE, REJECTED_TABLE } from '../schema/names.ts';
import { forgetRow } from './rejections.ts';
import type { Replica } from './replica.ts';
import { type CorruptRow, readRows } from './row-codec.ts';

/**
 * Drops the local copy of a rejected or quarantined row (or of a damaged row
 * no sync has read yet) and resets the cursors of its tables, so the next
 * download brings back the server's version. Returns the table keys it
 * changed; `not_rejected` for any other id.
 */
export async function discardRow(
  replica: Replica,
  config: AnySyncConfig,
  groups: readonly ResolvedGroup[],
  id: string,
): Promise<Set<string>> {
  const changed = new Set<string>();
  await replica.transaction(async (ex) => {
    const found = await ex.execute(`SELECT table_key FROM ${REJECTED_TABLE} WHERE id = ?`, [id]);
    const keys = found.rows.map((row) => String(row['table_key']));
    // A row no sync has read yet may be damaged too: local writes to it point here.
    if (keys.length === 0 && typeof id === 'string') {
      keys.push(...(await corruptIn(ex, groups, id)));
    }
    if (keys.length === 0) {
      throw new CarburetorClientError(
        'not_rejected',
        `Row ${JSON.stringify(id)} is not rejected; discard only reverts rows that client.rejected() lists.`,
      );
    }
    const statements: SqliteStatement[] = [];
    for (const key of keys) {
      const table = (config.tables as Record<string, ResolvedTable>)[key];
      if (!table) continue;
      changed.add(table.key);
      // The local stamps are newer than the server's, so a merge would keep the
      // refused values: drop the row, and download its table again from scratch.
      statements.push(...forgetRow(table, id));
      for (const group of groups) {
        if (group.table[table.key]) {
          statements.push({
            sql: `DELETE FROM ${CURSOR_TABLE} WHERE group_name = ? AND table_key = ?`,
            params: [group.name, table.key],
          });
        }
      }
    }
    await ex.executeBatch(statements);
  });
  return changed;
}

/** Keys of the tables of `groups` whose row `id` cannot be read. */
async function corruptIn(
  ex: SqliteExecutor,
  groups: readonly ResolvedGroup[],
  id: string,
): Promise<string[]> {
  const keys: string[] = [];
  const tables = new Set(groups.flatMap((g) => g.tables.map((t) => t.table)));
  for (const table of tables) {
    const corrupt = new Map<string, CorruptRow>();
    await readRows(ex, table, [id], corrupt);
    if (corrupt.has(id)) keys.push(table.key);
  }
  return keys;
}
