import { fingerprint } from '../rules/fingerprint.ts';
import type { JsonValue } from './column-types.ts';
import type { AnySyncConfig } from './config-types.ts';
import type { ResolvedColumn, ResolvedGroup, ResolvedTable } from './resolved.ts';

/** What a config says of one data column that matters to the other side of the wire. */
export interface ColumnDefinition {
  readonly kind: string;
  readonly nullable: boolean;
  readonly immutable: boolean;
  /** The default as JSON: `{ value }` (its wire form), `{ now: true }`, `{ sql }`, or null. */
  readonly default: { value: JsonValue } | { now: true } | { sql: string } | null;
}

/** What a config says of one table: its SQL name, special column names, data columns. */
export interface TableDefinition {
  readonly sqlName: string;
  readonly id: string;
  readonly isDeleted: string;
  readonly columns: Readonly<Record<string, ColumnDefinition>>;
}

/** A table's place in a group. */
export interface GroupTableDefinition {
  readonly restrictTo: { readonly column: string; readonly context: string } | null;
  readonly filter: Readonly<Record<string, JsonValue>> | null;
  readonly readOnly: boolean;
}

/**
 * The part of a sync config that both sides of the wire must agree on, as
 * plain JSON: tables, columns (type, nullability, immutability, default) and
 * groups. Validators are code and are left out: the server checks its own.
 */
export interface ConfigDefinition {
  readonly tables: Readonly<Record<string, TableDefinition>>;
  readonly groups: Readonly<Record<string, Readonly<Record<string, GroupTableDefinition>>>>;
}

function defaultOf(column: ResolvedColumn): ColumnDefinition['default'] {
  const given = column.default;
  if (given === undefined) return null;
  if (given.kind === 'now') return { now: true };
  if (given.kind === 'sql') return { sql: given.sql };
  try {
    return { value: given.value === null ? null : column.type.toWire(given.value as never) };
  } catch {
    // A default the type cannot encode is refused by the config itself; kept as text to stay hashable.
    return { value: String(given.value) };
  }
}

function tableDefinition(table: ResolvedTable): TableDefinition {
  const columns: Record<string, ColumnDefinition> = {};
  for (const column of table.dataColumns) {
    columns[column.name] = {
      kind: column.kind,
      nullable: column.nullable,
      immutable: column.immutable,
      default: defaultOf(column),
    };
  }
  return { sqlName: table.sqlName, id: table.id, isDeleted: table.isDeleted, columns };
}

function groupDefinition(group: ResolvedGroup): Record<string, GroupTableDefinition> {
  const tables: Record<string, GroupTableDefinition> = {};
  for (const entry of group.tables) {
    tables[entry.table.key] = {
      restrictTo: entry.restrictTo
        ? { column: entry.restrictTo.column, context: entry.restrictTo.context }
        : null,
      filter: entry.filter ? ({ ...entry.filter } as Record<string, JsonValue>) : null,
      readOnly: entry.readOnly,
    };
  }
  return tables;
}

/**
 * The definition of a config: what a server must know of a client's config
 * to serve it (which tables and columns it knows, and their rules).
 *
 * @example
 * ```ts
 * const definition = configDefinition(config);
 * Object.keys(definition.tables.phone_book.columns); // ['owner_id', 'name', ...]
 * ```
 */
export function configDefinition(config: AnySyncConfig): ConfigDefinition {
  const tables: Record<string, TableDefinition> = {};
  for (const [key, table] of Object.entries(config.tables as Record<string, ResolvedTable>)) {
    tables[key] = tableDefinition(table);
  }
  const groups: Record<string, Record<string, GroupTableDefinition>> = {};
  for (const [name, group] of Object.entries(config.groups as Record<string, ResolvedGroup>)) {
    groups[name] = groupDefinition(group);
  }
  return { tables, groups };
}

/** What a config identity looks like: 16 lowercase hex digits. */
export const CONFIG_IDENTITY_PATTERN = /^[0-9a-f]{16}$/;

/**
 * The identity of a config: a hash of its {@link configDefinition}. Two
 * builds of an app with the same tables, columns and groups have the same
 * identity, whatever their key order; any change that matters to the wire
 * gives another. Every request of protocol 3 carries it (`config`).
 *
 * @example
 * ```ts
 * const identity = configIdentity(config); // e.g. '3f9c0a7d51e2b864'
 * ```
 */
export function configIdentity(config: AnySyncConfig): string {
  return definitionIdentity(configDefinition(config));
}

/**
 * The identity of a definition (see {@link configIdentity}), e.g. one the
 * server stored.
 *
 * @example
 * ```ts
 * definitionIdentity(configDefinition(config)) === configIdentity(config); // true
 * ```
 */
export function definitionIdentity(definition: ConfigDefinition): string {
  return fingerprint(definition);
}
