import { ConfigError } from '../errors.ts';
import { type AnyColumn, type ColumnRole, runValidator } from './column.ts';
import { type ColumnKind, type ColumnTypeInfo, columnTypes } from './column-types.ts';
import { tableNames } from './names.ts';
import type { ResolvedColumn, ResolvedTable } from './resolved.ts';
import type { AnyTable } from './table.ts';

/** Prefix of the server's hidden bookkeeping columns; user columns may not start with it. */
export const RESERVED_COLUMN_PREFIX = '_carburetor';

const DEFAULT_NAMES = {
  id: 'id',
  isDeleted: 'is_deleted',
  lastSyncedAt: 'last_synced_at',
  columnSyncMetadata: 'column_sync_metadata',
  dirtyFlag: 'dirty_flag',
} as const satisfies Record<Exclude<ColumnRole, 'data'>, string>;

const ROLE_KIND = {
  id: 'text',
  isDeleted: 'boolean',
  lastSyncedAt: 'timestamptz',
  columnSyncMetadata: 'jsonb',
  dirtyFlag: 'text',
} as const satisfies Record<Exclude<ColumnRole, 'data'>, ColumnKind>;

const ROLE_MARKER = {
  id: '.id()',
  isDeleted: '.isDeleted()',
  lastSyncedAt: '.lastSyncedAt()',
  columnSyncMetadata: '.columnSyncMetadata()',
  dirtyFlag: '.dirtyFlag()',
} as const;

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_IDENTIFIER = 63;

/** A table, column or group name SQL and TypeScript both take as it is, or a ConfigError. */
export function checkIdentifier(
  what: string,
  name: string,
  where: { table?: string; column?: string },
) {
  if (!IDENTIFIER.test(name) || name.length > MAX_IDENTIFIER) {
    throw new ConfigError(
      `${what} "${name}" is not a valid name: use letters, digits and underscores, starting with a letter or underscore, at most ${MAX_IDENTIFIER} characters.`,
      where,
    );
  }
}

function resolveColumn(name: string, col: AnyColumn, role: ColumnRole): ResolvedColumn {
  const spec = col.spec;
  return Object.freeze({
    name,
    kind: spec.kind,
    type: columnTypes[spec.kind] as ColumnTypeInfo,
    role,
    nullable: role === 'lastSyncedAt' || role === 'dirtyFlag' ? true : spec.nullable,
    immutable: role === 'id' ? true : spec.immutable,
    default: spec.default,
    validator: spec.validator,
  });
}

function specialColumn(name: string, role: Exclude<ColumnRole, 'data'>): ResolvedColumn {
  const kind = ROLE_KIND[role];
  return Object.freeze({
    name,
    kind,
    type: columnTypes[kind] as ColumnTypeInfo,
    role,
    nullable: role === 'lastSyncedAt' || role === 'dirtyFlag',
    immutable: role === 'id',
    default: undefined,
    validator: undefined,
  });
}

/**
 * A declared table, resolved: its special columns found or added with their
 * default names, every column's role, type and rules checked.
 *
 * @throws {ConfigError} naming the table and column.
 */
export function resolveTable(key: string, declared: AnyTable): ResolvedTable {
  checkIdentifier('Table', key, { table: key });
  if (declared === null || typeof declared !== 'object' || typeof declared.columns !== 'object') {
    throw new ConfigError(
      `Table "${key}" must be declared with table({ plural? }, { ...columns }).`,
      {
        table: key,
      },
    );
  }
  const plural = declared.plural ?? `${key}s`;
  checkIdentifier(`Plural of table "${key}"`, plural, { table: key });

  const roleOwner = new Map<ColumnRole, string>();
  const declaredColumns = Object.entries(declared.columns);
  const seenLowercase = new Map<string, string>();
  for (const [name, col] of declaredColumns) {
    checkIdentifier(`Column of table "${key}"`, name, { table: key, column: name });
    if (name.toLowerCase().startsWith(RESERVED_COLUMN_PREFIX)) {
      throw new ConfigError(
        `Column "${key}.${name}" uses the prefix "${RESERVED_COLUMN_PREFIX}", which Carburetor reserves for its own columns; rename it.`,
        { table: key, column: name },
      );
    }
    const other = seenLowercase.get(name.toLowerCase());
    if (other !== undefined) {
      throw new ConfigError(
        `Table "${key}" declares the duplicate columns "${other}" and "${name}" (SQLite names ignore case); rename one.`,
        { table: key, column: name },
      );
    }
    seenLowercase.set(name.toLowerCase(), name);
    if (!col || typeof col !== 'object' || !('spec' in col)) {
      throw new ConfigError(
        `Column "${key}.${name}" is not a column builder such as text() or boolean().`,
        {
          table: key,
          column: name,
        },
      );
    }
    const role = col.spec.role;
    if (role !== 'data') {
      const previous = roleOwner.get(role);
      if (previous !== undefined) {
        throw new ConfigError(
          `Table "${key}" marks both "${previous}" and "${name}" with ${ROLE_MARKER[role]}; a role belongs to one column.`,
          { table: key, column: name },
        );
      }
      roleOwner.set(role, name);
    }
  }

  // A special role not marked falls to the column with its default name, or a new column.
  const roleOf = new Map<string, ColumnRole>();
  for (const [name, col] of declaredColumns) roleOf.set(name, col.spec.role);
  for (const role of Object.keys(DEFAULT_NAMES) as Exclude<ColumnRole, 'data'>[]) {
    if (roleOwner.has(role)) continue;
    const name = DEFAULT_NAMES[role];
    if (roleOf.has(name)) {
      if (roleOf.get(name) !== 'data') {
        throw new ConfigError(
          `Column "${key}.${name}" has another role, but ${ROLE_MARKER[role]} is not marked anywhere and "${name}" is its default name; mark another column with ${ROLE_MARKER[role]}.`,
          { table: key, column: name },
        );
      }
      roleOf.set(name, role);
    }
    roleOwner.set(role, name);
  }

  const columns: ResolvedColumn[] = [];
  for (const [name, col] of declaredColumns) {
    const role = roleOf.get(name) ?? 'data';
    if (role !== 'data') {
      const expected = ROLE_KIND[role];
      if (col.spec.kind !== expected) {
        throw new ConfigError(
          `Column "${key}.${name}" is the ${ROLE_MARKER[role]} column and must be ${expected}, not ${col.spec.kind}.`,
          { table: key, column: name },
        );
      }
      if (
        (role === 'id' || role === 'isDeleted' || role === 'columnSyncMetadata') &&
        col.spec.nullable
      ) {
        throw new ConfigError(
          `Column "${key}.${name}" is the ${ROLE_MARKER[role]} column and cannot be nullable; remove .nullable().`,
          { table: key, column: name },
        );
      }
    } else if (col.spec.default !== undefined) {
      checkDefault(key, name, col);
    }
    columns.push(resolveColumn(name, col, role));
  }
  for (const role of Object.keys(DEFAULT_NAMES) as Exclude<ColumnRole, 'data'>[]) {
    const name = roleOwner.get(role)!;
    if (!roleOf.has(name)) columns.push(specialColumn(name, role));
  }

  const dataColumns = columns.filter((c) => c.role === 'data');
  if (dataColumns.length === 0) {
    throw new ConfigError(`Table "${key}" has no data columns; declare at least one.`, {
      table: key,
    });
  }
  // Data columns first, special columns after, whatever the declared order.
  const ordered = [...dataColumns, ...columns.filter((c) => c.role !== 'data')];
  const isDeleted = roleOwner.get('isDeleted')!;
  return Object.freeze({
    key,
    plural,
    sqlName: plural,
    names: tableNames(key, plural),
    columns: Object.freeze(ordered),
    column: Object.freeze(Object.fromEntries(ordered.map((c) => [c.name, c]))),
    dataColumns: Object.freeze(dataColumns),
    syncedColumns: Object.freeze([...dataColumns.map((c) => c.name), isDeleted]),
    id: roleOwner.get('id')!,
    isDeleted,
    lastSyncedAt: roleOwner.get('lastSyncedAt')!,
    columnSyncMetadata: roleOwner.get('columnSyncMetadata')!,
    dirtyFlag: roleOwner.get('dirtyFlag')!,
  });
}

function checkDefault(table: string, column: string, col: AnyColumn) {
  const def = col.spec.default;
  if (def?.kind === 'now' && col.spec.kind !== 'timestamptz' && col.spec.kind !== 'date') {
    throw new ConfigError(
      `Column "${table}.${column}" defaults to now, which only date and timestamptz columns can; use .default(value).`,
      { table, column },
    );
  }
  if (def?.kind !== 'value') return;
  if (def.value === null) {
    if (!col.spec.nullable) {
      throw new ConfigError(
        `Column "${table}.${column}" defaults to null but is not nullable; add .nullable() or another default.`,
        { table, column },
      );
    }
    return;
  }
  const type = columnTypes[col.spec.kind] as ColumnTypeInfo;
  let ok: boolean;
  try {
    ok =
      col.spec.kind === 'bytea'
        ? def.value instanceof Uint8Array
        : type.checkWire(type.toWire(def.value as never)) === undefined;
  } catch {
    ok = false;
  }
  if (!ok || (col.spec.validator && runValidator(col.spec.validator, def.value) !== undefined)) {
    throw new ConfigError(
      `Column "${table}.${column}" has the default ${JSON.stringify(def.value)}, which is not a valid ${col.spec.kind} value for it.`,
      { table, column },
    );
  }
}
