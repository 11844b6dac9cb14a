import {
  type AnySyncConfig,
  encodeWireValue,
  fingerprint,
  type ResolvedGroupTable,
  type ResolvedTable,
  wireValueText,
} from '@carburetor/core';
import { EXITS_COLUMN } from './names.ts';
import { quoteIdent, quoteLiteral } from './sql-text.ts';

/**
 * Scope exits: when a row leaves a group's filter (an update makes it fail
 * the filter it passed), the stamp trigger records the writing transaction
 * in the row's hidden `_carburetor_exits` jsonb, under the filter's key:
 * `{"<filter key>": "<xid>"}`. A download then lists a row that fails the
 * filter as out of scope only when it left the filter since the caller's
 * cursor: a row that never passed it (another user's private row) is never
 * named to anyone. Re-entering needs no record: the row passes the filter
 * and comes whole. The record is one small key per filter on rows that
 * once left it, kept with the row (purged with it).
 */

/** A group's filter on a table, as `{ column: value }`. */
export type Filter = Readonly<Record<string, unknown>>;

/** The key of a filter in the exits column: the same filter in several groups shares it. */
export function filterKey(filter: Filter): string {
  return fingerprint(filter);
}

/** The distinct filters the config's groups put on a table. */
export function filtersOf(config: AnySyncConfig, table: ResolvedTable): Filter[] {
  const filters = new Map<string, Filter>();
  for (const group of Object.values(config.groups)) {
    const filter = (group.table[table.key] as ResolvedGroupTable | undefined)?.filter;
    if (filter && Object.keys(filter).length > 0) filters.set(filterKey(filter), filter);
  }
  return [...filters.values()];
}

/** A filter as SQL text on a row variable (`OLD`, `NEW`, a transition table), for triggers. */
export function filterText(table: ResolvedTable, filter: Filter, row: string): string {
  const terms = Object.entries(filter).map(([name, value]) => {
    const column = table.column[name]!;
    const ref = `${row}.${quoteIdent(name)}`;
    if (value === null) return `${ref} IS NULL`;
    const text = wireValueText(encodeWireValue(column, value));
    return `${ref} IS NOT DISTINCT FROM CAST(${quoteLiteral(text)} AS ${column.type.pg})`;
  });
  return `(${terms.join(' AND ')})`;
}

/** Whether the row on `row` left `filter` in the current transaction, as SQL text. */
export function leftNowText(filter: Filter, row: string): string {
  return `(${row}.${quoteIdent(EXITS_COLUMN)} ->> ${quoteLiteral(filterKey(filter))}) = pg_current_xact_id()::text`;
}

/**
 * The stamp trigger's lines (UPDATE only) that record each filter the row
 * leaves; empty for a table no group filters.
 */
export function recordExitsSql(config: AnySyncConfig, table: ResolvedTable): string {
  const exits = quoteIdent(EXITS_COLUMN);
  return filtersOf(config, table)
    .map(
      (
        filter,
      ) => `    IF ${filterText(table, filter, 'OLD')} AND NOT ${filterText(table, filter, 'NEW')} THEN
      NEW.${exits} := coalesce(NEW.${exits}, '{}'::jsonb) || jsonb_build_object(${quoteLiteral(filterKey(filter))}, pg_current_xact_id()::text);
    END IF;`,
    )
    .join('\n');
}
