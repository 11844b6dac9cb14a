import type { ResolvedGroupTable } from '@carburetor/core';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { XID_COLUMN } from '../schema/names.ts';
import { wireValueSql } from './wire-value-sql.ts';

/**
 * The names of a page row's fixed columns: short aliases, since the driver
 * reads every row's names, but named here, so no code spells `i`, `k`, `l`.
 */
export const PAGE_ROW = Object.freeze({
  /** The row's id. */
  id: 'i',
  /** What the row is: one of {@link PAGE_ROW_KIND}. */
  kind: 'k',
  /** Last-synced-at in microseconds since the epoch, as text; null for a row without values. */
  syncedAtMicros: 'l',
  /** The xid of the transaction that wrote the row, as text; only where the query asks for it (`withXid`). */
  xid: 'x',
} as const);

/** What a page row is: a row with values, a tombstone (id only), out of the filter (id only). */
export const PAGE_ROW_KIND = Object.freeze({ row: 0, tombstone: 1, outOfScope: 2 } as const);

/**
 * A row of a download query: its fixed columns ({@link PAGE_ROW}), then each
 * synced column's wire value (`v0`, `v1`, …) and stamp (`t0`/`c0`, …: write
 * time and writer, see `pageRowsSql`).
 */
export interface PageRow {
  [PAGE_ROW.id]: string;
  [PAGE_ROW.kind]: number;
  [PAGE_ROW.syncedAtMicros]: string | null;
  [column: string]: unknown;
}

/** What one query of a download page reads. */
export interface PageQuery {
  readonly entry: ResolvedGroupTable;
  /** Conditions on the table's own columns. */
  readonly where: readonly RawBuilder<unknown>[];
  /** The kind of each row (row, tombstone, out of scope), on the table's own columns. */
  readonly kind: RawBuilder<unknown>;
  readonly limit: number;
  /** The synced columns to read, in page order; default every synced column of the table. */
  readonly columns?: readonly string[];
  /** Also read each row's xid ({@link PAGE_ROW.xid}), to order by outside the query. */
  readonly withXid?: boolean;
}

/** Alias of a synced column's wire value, by its position. */
export const valueKey = (n: number) => `v${n}`;
/** Alias of a synced column's write time, by its position. */
export const timeKey = (n: number) => `t${n}`;
/** Alias of a synced column's writer, by its position. */
export const writerKey = (n: number) => `c${n}`;
/** Alias of a column's stamp object (reserved prefix: no user column has it). */
const stampKey = (n: number) => `_carburetor_s${n}`;

/**
 * The rows of a download page in cursor order, as plain columns rather than
 * one JSON value per row: the driver reads short texts and no metadata
 * object is built in JavaScript.
 *
 * The page is cut first; each stamp is then taken out of the metadata once
 * (a lateral subquery). Where a column's stamp equals the previous column's,
 * its write time and writer are left out (both null): rows are mostly
 * written whole by one writer, and every text the driver reads costs time
 * and garbage. `''` says the column has no write time or no writer.
 */
export function pageRowsSql(query: PageQuery): RawBuilder<PageRow> {
  const { entry, where, kind, limit } = query;
  const { table } = entry;
  const columns = query.columns ?? table.syncedColumns;
  const inner = [
    sql.ref(XID_COLUMN),
    sql`${kind} as _carburetor_kind`,
    ...[...new Set([table.id, table.lastSyncedAt, table.columnSyncMetadata, ...columns])].map(
      (name) => sql.ref(name),
    ),
  ];
  const metadata = sql.ref(`page.${table.columnSyncMetadata}`);
  const stamps = columns.map(
    (name, n) => sql`${metadata} -> ${sql.lit(name)} as ${sql.ref(stampKey(n))}`,
  );
  const items: RawBuilder<unknown>[] = [
    sql`${sql.ref(`page.${table.id}`)} as ${sql.ref(PAGE_ROW.id)}`,
    sql`_carburetor_kind as ${sql.ref(PAGE_ROW.kind)}`,
    sql`${microsSql(table.lastSyncedAt)} as ${sql.ref(PAGE_ROW.syncedAtMicros)}`,
  ];
  if (query.withXid) items.push(sql`${sql.ref(`page.${XID_COLUMN}`)} as ${sql.ref(PAGE_ROW.xid)}`);
  columns.forEach((name, n) => {
    const stamp = sql.ref(stampKey(n));
    const part = (key: 't' | 'c') =>
      n === 0
        ? sql`${stamp} ->> ${sql.lit(key)}`
        : sql`case when ${stamp} = ${sql.ref(stampKey(n - 1))} then null else coalesce(${stamp} ->> ${sql.lit(key)}, '') end`;
    items.push(
      sql`${wireValueSql(table.column[name]!)} as ${sql.ref(valueKey(n))}`,
      sql`${part('t')} as ${sql.ref(timeKey(n))}`,
      sql`${part('c')} as ${sql.ref(writerKey(n))}`,
    );
  });
  return sql<PageRow>`
    select ${sql.join(items)}
    from (
      select ${sql.join(inner)}
      from ${sql.table(table.sqlName)}
      ${where.length > 0 ? sql`where ${sql.join(where, sql` and `)}` : sql``}
      order by ${sql.ref(XID_COLUMN)}, ${sql.ref(table.id)}
      limit ${sql.lit(limit)}
    ) as page
    cross join lateral (select ${sql.join(stamps)} offset 0) as stamp
    order by page.${sql.ref(XID_COLUMN)}, ${sql.ref(`page.${table.id}`)}`;
}

/**
 * A timestamptz as microseconds since the epoch (null for ±infinity),
 * exact on every PostgreSQL with xid8 (13 and up, where `extract` still
 * returns a float).
 */
function microsSql(name: string): RawBuilder<unknown> {
  const ref = sql.ref(name);
  return sql`case when isfinite(${ref}) then extract(epoch from date_trunc('second', ${ref}))::int8 * 1000000 + extract(microseconds from ${ref})::int8 % 1000000 end`;
}

/**
 * Rows compacted at a time while a page streams in: each chunk's driver rows
 * are garbage before the next arrives.
 */
export const CHUNK_ROWS = 1_000;

/** The cursor position of a row the page read: only the last row's is needed, so rows do not carry it. */
export async function xidOf(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
  table: ResolvedGroupTable['table'],
  id: string,
): Promise<string> {
  const result = await sql<{ x: string }>`
    select ${sql.ref(XID_COLUMN)}::text as x from ${sql.table(table.sqlName)}
    where ${sql.ref(table.id)} = ${id}`.execute(trx);
  return result.rows[0]!.x;
}
