import type { ResolvedColumn, ResolvedGroupTable } from '@carburetor/core';
import { type RawBuilder, sql } from 'kysely';

// PostgreSQL's own function-argument limit is 100; stay well below it.
const MAX_ARGS = 90;

/**
 * A column's value in its canonical wire form, computed by PostgreSQL so a
 * page arrives as ready-made JSON (`columnTypes[kind].fromPg` then `.toWire`
 * give the same values; a test checks every kind). int8 and numeric become
 * text to keep every digit, timestamptz the UTC ISO form with six fractional
 * digits, bytea base64 without line breaks; json already encodes dates as
 * ISO, whatever DateStyle says.
 */
export function wireValueSql(column: ResolvedColumn): RawBuilder<unknown> {
  const ref = sql.ref(column.name);
  switch (column.kind) {
    case 'bigint':
    case 'numeric':
      return sql`${ref}::text`;
    case 'timestamptz':
      return timestampSql(column.name);
    case 'bytea':
      return sql`translate(encode(${ref}, 'base64'), chr(10), '')`;
    default:
      return sql`${ref}`;
  }
}

/** A timestamptz column as canonical text: `2026-11-25T15:41:05.123456Z`. */
export function timestampSql(name: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(name)} at time zone 'UTC', ${sql.raw(`'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`)})`;
}

/** The WireRow of the current row as one JSON array: id, last-synced-at, metadata, synced values. */
export function wireRowSql(entry: ResolvedGroupTable): RawBuilder<unknown> {
  const { table } = entry;
  const items: RawBuilder<unknown>[] = [
    sql`${sql.ref(table.id)}`,
    timestampSql(table.lastSyncedAt),
    sql`${sql.ref(table.columnSyncMetadata)}`,
    ...table.syncedColumns.map((name) => wireValueSql(table.column[name]!)),
  ];
  if (items.length <= MAX_ARGS) return sql`json_build_array(${sql.join(items)})`;
  // Wide tables: jsonb arrays concatenate (jsonb keeps array order; objects are jsonb already).
  const chunks: RawBuilder<unknown>[] = [];
  for (let i = 0; i < items.length; i += MAX_ARGS) {
    chunks.push(sql`jsonb_build_array(${sql.join(items.slice(i, i + MAX_ARGS))})`);
  }
  return sql`(${sql.join(chunks, sql` || `)})::json`;
}

/** The group's filter on the current row as a boolean, or undefined when the table has none. */
export function filterSql(entry: ResolvedGroupTable): RawBuilder<boolean> | undefined {
  const filter = entry.filter;
  if (!filter || Object.keys(filter).length === 0) return undefined;
  const terms = Object.entries(filter).map(([name, value]) => {
    const column = entry.table.column[name]!;
    return value === null
      ? sql`${sql.ref(name)} is null`
      : sql`${sql.ref(name)} is not distinct from cast(${value} as ${sql.raw(column.type.pg)})`;
  });
  return sql<boolean>`(${sql.join(terms, sql` and `)})`;
}
