import type { ResolvedGroup } from '@carburetor/core';
import type { SqliteExecutor } from '../driver/sqlite-driver.ts';
import { CURSOR_TABLE, STATE_TABLE, sweepKey } from '../schema/names.ts';

/** Where the replica's download of one (group, table) stands (`client.cursors()`). */
export interface CursorInfo {
  readonly group: string;
  /** The table key. */
  readonly table: string;
  /** The server's opaque cursor (quote it in a bug report), or null before the first page. */
  readonly cursor: string | null;
  /** A first download (or one the server reset) is in progress: rows it has not re-sent yet may be stale. */
  readonly resetting: boolean;
}

/** The cursor of every (group, table) the client syncs, in group then table order. */
export async function listCursors(
  ex: SqliteExecutor,
  groups: readonly ResolvedGroup[],
): Promise<CursorInfo[]> {
  const cursors = await ex.execute(`SELECT group_name, table_key, cursor FROM ${CURSOR_TABLE}`);
  const sweeps = await ex.execute(`SELECT key FROM ${STATE_TABLE} WHERE key LIKE 'sweep:%'`);
  const stored = new Map(
    cursors.rows.map((r) => [`${r['group_name']}\u0000${r['table_key']}`, String(r['cursor'])]),
  );
  const resetting = new Set(sweeps.rows.map((r) => String(r['key'])));
  return groups.flatMap((group) =>
    Object.keys(group.table).map((table) => ({
      group: group.name,
      table,
      cursor: stored.get(`${group.name}\u0000${table}`) ?? null,
      resetting: resetting.has(sweepKey(group.name, table)),
    })),
  );
}
