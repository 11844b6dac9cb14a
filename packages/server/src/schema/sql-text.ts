import { encodeWireValue, type ResolvedColumn, wireValueText } from '@carburetor/core';

/**
 * SQL text for DDL, which takes no parameters. Identifiers come from the
 * config (already checked to be plain names) and are quoted anyway; values
 * are quoted as PostgreSQL's `quote_literal` does, so they read the same
 * whatever `standard_conforming_strings` says.
 */

/** A quoted identifier: `"phone_books"`. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A quoted string literal: `'it''s'`, or `E'a\\b'` when it holds a backslash. */
export function quoteLiteral(text: string): string {
  const quoted = text.replaceAll("'", "''");
  return text.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/**
 * The DDL default of a column, or undefined when it has none: a value as a
 * typed literal, `now` as `now()` (`current_date` for a date), `sql` as the
 * expression the config gives.
 */
export function columnDefaultSql(column: ResolvedColumn): string | undefined {
  const def = column.default;
  if (def === undefined) return undefined;
  if (def.kind === 'sql') return def.sql;
  if (def.kind === 'now') return column.kind === 'date' ? 'current_date' : 'now()';
  if (def.value === null) return 'NULL';
  return `${quoteLiteral(wireValueText(encodeWireValue(column, def.value)))}::${column.type.pg}`;
}
