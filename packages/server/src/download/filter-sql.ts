import type { ResolvedGroupTable } from '@carburetor/core';
import { type RawBuilder, sql } from 'kysely';

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
