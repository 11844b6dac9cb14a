import type { ResolvedColumn, ResolvedTable } from '@carburetor/core';
import { EXITS_COLUMN, XID_COLUMN } from './names.ts';
import { columnDefaultSql } from './sql-text.ts';

/** A column as the server's table holds it. */
export interface ServerColumn {
  readonly name: string;
  /** Type in DDL. */
  readonly pg: string;
  /** The type as `format_type` shows it, and the other spellings accepted as the same type. */
  readonly formatTypes: readonly string[];
  readonly notNull: boolean;
  /** DDL default expression, if any. */
  readonly defaultSql: string | undefined;
}

// What format_type() prints for each DDL type we write; only our kinds matter.
const FORMAT_TYPES: Record<string, readonly string[]> = {
  text: ['text', 'character varying'],
  boolean: ['boolean'],
  integer: ['integer'],
  bigint: ['bigint'],
  'double precision': ['double precision'],
  numeric: ['numeric'],
  date: ['date'],
  timestamptz: ['timestamp with time zone'],
  jsonb: ['jsonb'],
  uuid: ['uuid'],
  bytea: ['bytea'],
  xid8: ['xid8'],
};

function column(
  name: string,
  pg: string,
  notNull: boolean,
  defaultSql: string | undefined,
): ServerColumn {
  return { name, pg, formatTypes: FORMAT_TYPES[pg] ?? [pg], notNull, defaultSql };
}

function fromConfig(c: ResolvedColumn, notNull: boolean, fallbackDefault?: string): ServerColumn {
  return column(c.name, c.type.pg, notNull, columnDefaultSql(c) ?? fallbackDefault);
}

/**
 * The server's columns of a table, in creation order: id, data columns, the
 * deleted flag, last-synced-at, the column metadata, then the hidden cursor
 * and scope-exit columns. The client's dirty flag is not one of them.
 */
export function serverColumns(table: ResolvedTable): ServerColumn[] {
  const byName = table.column;
  const id = byName[table.id]!;
  const columns = [fromConfig(id, true)];
  for (const c of table.dataColumns) columns.push(fromConfig(c, !c.nullable));
  columns.push(fromConfig(byName[table.isDeleted]!, true, 'false'));
  columns.push(column(table.lastSyncedAt, 'timestamptz', true, 'now()'));
  columns.push(column(table.columnSyncMetadata, 'jsonb', true, "'{}'::jsonb"));
  columns.push(column(XID_COLUMN, 'xid8', true, 'pg_current_xact_id()'));
  // Nullable without a default: adding it to a big table rewrites nothing.
  columns.push(column(EXITS_COLUMN, 'jsonb', false, undefined));
  return columns;
}
