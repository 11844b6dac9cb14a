import type { AnySyncConfig, ResolvedTable } from '@carburetor/core';
import { type Kysely, sql } from 'kysely';
import { PURGE_SETTING } from './names.ts';

/** Options of {@link purgeDeletedRows}. */
export interface PurgeOptions {
  /** Tombstones whose last write is older than this are removed. */
  readonly olderThan: Date;
}

/**
 * Removes tombstones (rows whose deleted flag is set) last written before
 * `olderThan`, in every table of the config, in one transaction. This is
 * the one way past the trigger that refuses hard DELETEs. A replica that
 * has not downloaded since before `olderThan` never learns of a purged
 * deletion, so pick a date older than the longest time a replica may stay
 * offline.
 *
 * @returns the number of rows removed, by table key.
 * @example
 * ```ts
 * const ninetyDaysAgo = new Date(Date.now() - 90 * 24 * 3600 * 1000);
 * await purgeDeletedRows(db, config, { olderThan: ninetyDaysAgo });
 * ```
 */
export async function purgeDeletedRows(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  db: Kysely<any>,
  config: AnySyncConfig,
  options: PurgeOptions,
): Promise<Record<string, number>> {
  const before = options.olderThan.toISOString();
  return db.transaction().execute(async (trx) => {
    await sql`select set_config(${PURGE_SETTING}, 'on', true)`.execute(trx);
    const removed: Record<string, number> = {};
    for (const table of Object.values(config.tables) as ResolvedTable[]) {
      const result = await sql`
        delete from ${sql.table(table.sqlName)}
        where ${sql.ref(table.isDeleted)} and ${sql.ref(table.lastSyncedAt)} < ${before}::timestamptz`.execute(
        trx,
      );
      removed[table.key] = Number(result.numAffectedRows ?? 0n);
    }
    return removed;
  });
}
