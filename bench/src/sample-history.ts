import { writeTimeFromMs } from '@carburetor/core';
import { type RawBuilder, sql } from 'kysely';

/**
 * Per-row sync history for generated benchmark rows, so pages look like a
 * real table's rather than one row copied 100k times: row `n` was inserted
 * by one of 40 devices, a second apart from the row before; every third row
 * had some columns (`edited`) changed later by another device; each row was
 * synced at its own microsecond.
 *
 * @param columns every stamped column (synced columns and the deleted flag)
 * @param edited the columns a later edit changed
 * @param n the row number (an SQL integer expression)
 */
export function sampleMetadataSql(
  columns: readonly string[],
  edited: readonly string[],
  n: RawBuilder<number>,
): RawBuilder<unknown> {
  const start = writeTimeFromMs(Date.now() - 30 * 86_400_000);
  const inserted = sql`(${sql.lit(start)}::int8 + ${n}::int8 * 1000000)`;
  const insertedBy = sql`'device-' || md5((${n} % 40)::text)`;
  const editedAt = sql`(${inserted} + (${n} % 7 + 1)::int8 * 3600000000 + ${n} % 1000)`;
  const editedBy = sql`'device-' || md5(((${n} + 1) % 40)::text)`;
  const stamps = columns.map((column) => {
    const later = edited.includes(column)
      ? sql`case when ${n} % 3 = 0 then jsonb_build_object('t', ${editedAt}, 'c', ${editedBy}) end`
      : sql`null`;
    return sql`${sql.lit(column)}::text, coalesce(${later}, jsonb_build_object('t', ${inserted}, 'c', ${insertedBy}))`;
  });
  return sql`jsonb_build_object(${sql.join(stamps)})`;
}

/** When row `n` was last synced: its own microsecond, in the row order. */
export function sampleSyncedAtSql(n: RawBuilder<number>): RawBuilder<unknown> {
  return sql`(timestamptz '2026-10-01 00:00:00+00' + ${n} * interval '1234567 microseconds')`;
}
