import { ConfigError } from '../errors.ts';
import { type AnyColumn, type ColumnDefault, type ColumnRole, runValidator } from './column.ts';
import { type ColumnKind, type ColumnTypeInfo, columnTypes } from './column-types.ts';
import type {
  ClientTable,
  ColumnsOf,
  ColumnValue,
  DataKeys,
  ImmutableKeys,
  NamesOf,
  PluralOf,
  ServerTable,
  Simplify,
  TableInsert,
  TableRow,
  TableUpdate,
} from './infer.ts';
import { type TableNames, tableNames } from './names.ts';
import type { AnyTable, ColumnsShape } from './table.ts';

/** Router keys tRPC reserves; a group may not take them. */
export const RESERVED_GROUP_NAMES = ['then', 'call', 'apply'] as const;
type ReservedGroupName = (typeof RESERVED_GROUP_NAMES)[number];

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

/** Options of a table inside a sync group. */
export interface GroupTableOptions<
  T extends AnyTable = AnyTable,
  C extends ColumnsShape = ColumnsOf<T>,
> {
  /** Each caller sees only rows whose `column` equals their context value `context`. */
  restrictTo?: { column: ImmutableKeys<C>; context: string };
  /** The group may download this table but never write it. */
  readOnly?: boolean;
  /** Only rows whose columns equal these values belong to the group. */
  filter?: { [K in DataKeys<C>]?: ColumnValue<C[K]> };
}

/** The shape of `syncGroups` for a set of tables (what a hand-written type annotation uses). */
export type SyncGroupsShape<TT extends Record<string, AnyTable>> = Record<
  string,
  { [K in keyof TT]?: true | GroupTableOptions<TT[K]> }
>;

/**
 * The loose shape `defineSyncConfig` infers groups against. The exact options
 * of each entry are checked by {@link CheckGroups} only for the tables a group
 * lists, which keeps large configs fast to type-check.
 */
export type SyncGroupsInput = Record<
  string,
  Record<
    string,
    | true
    | {
        restrictTo?: { column: string; context: string };
        readOnly?: boolean;
        filter?: Record<string, unknown>;
      }
  >
>;

/** Turns a misspelled table, a bad option or a reserved group name into a type error. */
type CheckGroups<TT extends Record<string, AnyTable>, TG> = {
  [G in keyof TG]: G extends ReservedGroupName
    ? never
    : { [K in keyof TG[G]]: K extends keyof TT ? true | GroupTableOptions<TT[K]> : never };
};

/** One column after resolution: its role, its type info, and its rules. */
export interface ResolvedColumn {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly type: ColumnTypeInfo;
  readonly role: ColumnRole;
  readonly nullable: boolean;
  readonly immutable: boolean;
  readonly default: ColumnDefault | undefined;
  readonly validator: AnyColumn['spec']['validator'];
}

/** A table after resolution, as server and client code read it. */
export interface ResolvedTable {
  readonly key: string;
  readonly plural: string;
  /** SQL table name (the plural). */
  readonly sqlName: string;
  readonly names: TableNames;
  /** Every column: data columns in declared order, then the special columns. */
  readonly columns: readonly ResolvedColumn[];
  readonly column: Readonly<Record<string, ResolvedColumn>>;
  readonly dataColumns: readonly ResolvedColumn[];
  /** Data columns plus the deleted flag: what merges by write time. */
  readonly syncedColumns: readonly string[];
  readonly id: string;
  readonly isDeleted: string;
  readonly lastSyncedAt: string;
  readonly columnSyncMetadata: string;
  readonly dirtyFlag: string;
}

/** A table's place in a group. */
export interface ResolvedGroupTable {
  readonly table: ResolvedTable;
  readonly restrictTo: { readonly column: string; readonly context: string } | undefined;
  readonly filter: Readonly<Record<string, unknown>> | undefined;
  readonly readOnly: boolean;
}

/** A sync group after resolution. */
export interface ResolvedGroup {
  readonly name: string;
  readonly tables: readonly ResolvedGroupTable[];
  readonly table: Readonly<Record<string, ResolvedGroupTable>>;
  /** Context names the group's restrictions need. */
  readonly contextKeys: readonly string[];
}

/**
 * A validated sync config. `tables` and `groups` hold the resolved model the
 * adapters read; the type parameters carry everything the generated names
 * and row types are inferred from.
 */
export interface SyncConfig<
  TT extends Record<string, AnyTable> = Record<string, AnyTable>,
  TG extends SyncGroupsInput = SyncGroupsInput,
> {
  readonly tables: { readonly [K in keyof TT & string]: ResolvedTable };
  readonly groups: { readonly [G in keyof TG & string]: ResolvedGroup };
  /** The tables as declared (type inference reads these). */
  readonly $tables: TT;
  /** The groups as declared. */
  readonly $groups: TG;
}

/** Any sync config. */
// biome-ignore lint/suspicious/noExplicitAny: the widest config, for constraints only
export type AnySyncConfig = SyncConfig<any, any>;

/** Table keys of a config. */
export type TableKey<C extends AnySyncConfig> = keyof C['$tables'] & string;
/** Group names of a config. */
export type GroupName<C extends AnySyncConfig> = keyof C['$groups'] & string;

/**
 * A table's row as the app reads it.
 * @example `type Contact = InferRow<typeof config, 'phone_book'>`
 */
export type InferRow<C extends AnySyncConfig, K extends TableKey<C>> = TableRow<C['$tables'][K]>;
/** What `insert<Table>` takes. @example `type NewContact = InferInsert<typeof config, 'phone_book'>` */
export type InferInsert<C extends AnySyncConfig, K extends TableKey<C>> = TableInsert<
  C['$tables'][K]
>;
/** What `update<Table>` takes. @example `type ContactPatch = InferUpdate<typeof config, 'phone_book'>` */
export type InferUpdate<C extends AnySyncConfig, K extends TableKey<C>> = TableUpdate<
  C['$tables'][K]
>;
/** Generated names of a table. @example `InferNames<typeof config, 'phone_book'>['active']` is `'activePhoneBooks'` */
export type InferNames<C extends AnySyncConfig, K extends TableKey<C>> = NamesOf<C['$tables'], K>;

/** The PostgreSQL schema. @example `const db = new Kysely<ServerDatabase<typeof config>>({ dialect })` */
export type ServerDatabase<C extends AnySyncConfig> = Simplify<{
  [K in TableKey<C> as PluralOf<K, C['$tables'][K]>]: ServerTable<C['$tables'][K]>;
}>;

/** The SQLite replica's schema. @example `client.db` is a `Kysely<ClientDatabase<typeof config>>` */
export type ClientDatabase<C extends AnySyncConfig> = Simplify<{
  [K in TableKey<C> as PluralOf<K, C['$tables'][K]>]: ClientTable<C['$tables'][K]>;
}>;

type GroupEntries<C extends AnySyncConfig, G extends GroupName<C>> = C['$groups'][G];

/** Table keys of a group. */
export type GroupTableKey<C extends AnySyncConfig, G extends GroupName<C>> = keyof GroupEntries<
  C,
  G
> &
  TableKey<C>;

/** Table keys a group may write (not read-only). */
export type WritableTableKey<C extends AnySyncConfig, G extends GroupName<C>> = {
  [K in GroupTableKey<C, G>]: GroupEntries<C, G>[K] extends { readOnly: true } ? never : K;
}[GroupTableKey<C, G>];

type ContextOfEntry<E> = E extends { restrictTo: { context: infer N extends string } } ? N : never;

/** Context names a group needs from the caller (restriction values). */
export type GroupContextKey<C extends AnySyncConfig, G extends GroupName<C>> = {
  [K in GroupTableKey<C, G>]: ContextOfEntry<GroupEntries<C, G>[K]>;
}[GroupTableKey<C, G>];

/** The context values a group needs, e.g. `{ userId: string }`. */
export type GroupContext<C extends AnySyncConfig, G extends GroupName<C>> = {
  [N in GroupContextKey<C, G>]: string | number;
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_IDENTIFIER = 63;

function checkIdentifier(what: string, name: string, where: { table?: string; column?: string }) {
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

function resolveTable(key: string, declared: AnyTable): ResolvedTable {
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

function resolveGroup(
  name: string,
  entries: Record<string, unknown>,
  tables: Record<string, ResolvedTable>,
): ResolvedGroup {
  checkIdentifier('Sync group', name, {});
  if ((RESERVED_GROUP_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(
      `Sync group "${name}" clashes with a name tRPC reserves (${RESERVED_GROUP_NAMES.join(', ')}); rename the group.`,
    );
  }
  if (entries === null || typeof entries !== 'object' || Object.keys(entries).length === 0) {
    throw new ConfigError(
      `Sync group "${name}" lists no tables; add at least one, e.g. { phone_book: true }.`,
    );
  }
  const groupTables: ResolvedGroupTable[] = [];
  const contextKeys = new Set<string>();
  for (const [tableKey, options] of Object.entries(entries)) {
    const table = tables[tableKey];
    if (!table) {
      throw new ConfigError(
        `Sync group "${name}" lists the unknown table "${tableKey}"; the tables are: ${Object.keys(tables).join(', ')}.`,
        { table: tableKey },
      );
    }
    if (options === true) {
      groupTables.push(
        Object.freeze({ table, restrictTo: undefined, filter: undefined, readOnly: false }),
      );
      continue;
    }
    if (options === null || typeof options !== 'object') {
      throw new ConfigError(
        `Sync group "${name}" gives table "${tableKey}" the options ${JSON.stringify(options)}; use true or { restrictTo?, filter?, readOnly? }.`,
        { table: tableKey },
      );
    }
    const opts = options as {
      restrictTo?: { column?: unknown; context?: unknown };
      filter?: unknown;
      readOnly?: unknown;
    };
    for (const option of Object.keys(opts)) {
      if (option !== 'restrictTo' && option !== 'filter' && option !== 'readOnly') {
        throw new ConfigError(
          `Sync group "${name}" gives table "${tableKey}" the unknown option "${option}"; the options are restrictTo, filter and readOnly.`,
          { table: tableKey },
        );
      }
    }
    let restrictTo: ResolvedGroupTable['restrictTo'];
    if (opts.restrictTo !== undefined) {
      const { column, context } = opts.restrictTo;
      const col = typeof column === 'string' ? table.column[column] : undefined;
      if (col?.role !== 'data') {
        throw new ConfigError(
          `Sync group "${name}" restricts table "${tableKey}" by the unknown column "${String(column)}"; name one of its data columns.`,
          { table: tableKey, column: String(column) },
        );
      }
      if (!col.immutable) {
        throw new ConfigError(
          `Sync group "${name}" restricts table "${tableKey}" by column "${col.name}", which is not immutable; rows must never move between users: declare it with .immutable().`,
          { table: tableKey, column: col.name },
        );
      }
      if (typeof context !== 'string' || !IDENTIFIER.test(context)) {
        throw new ConfigError(
          `Sync group "${name}" restricts table "${tableKey}" by column "${col.name}" with the context name ${JSON.stringify(context)}; give a name such as 'userId'.`,
          { table: tableKey, column: col.name },
        );
      }
      restrictTo = Object.freeze({ column: col.name, context });
      contextKeys.add(context);
    }
    let filter: Record<string, unknown> | undefined;
    if (opts.filter !== undefined) {
      if (opts.filter === null || typeof opts.filter !== 'object') {
        throw new ConfigError(
          `Sync group "${name}" gives table "${tableKey}" a filter that is not an object of column values.`,
          { table: tableKey },
        );
      }
      filter = {};
      for (const [column, value] of Object.entries(opts.filter)) {
        const col = table.column[column];
        if (col?.role !== 'data') {
          throw new ConfigError(
            `Sync group "${name}" filters table "${tableKey}" on the unknown column "${column}"; name one of its data columns.`,
            { table: tableKey, column },
          );
        }
        const valid =
          value === null
            ? col.nullable
            : col.kind !== 'bytea' &&
              col.kind !== 'jsonb' &&
              col.type.checkWire(value) === undefined;
        if (!valid) {
          throw new ConfigError(
            `Sync group "${name}" filters table "${tableKey}" on column "${column}" by ${JSON.stringify(value)}, which is not a ${col.kind} value it can compare.`,
            { table: tableKey, column },
          );
        }
        filter[column] = value;
      }
      Object.freeze(filter);
    }
    if (opts.readOnly !== undefined && typeof opts.readOnly !== 'boolean') {
      throw new ConfigError(
        `Sync group "${name}" gives table "${tableKey}" a readOnly that is not a boolean.`,
        {
          table: tableKey,
        },
      );
    }
    groupTables.push(
      Object.freeze({ table, restrictTo, filter, readOnly: opts.readOnly === true }),
    );
  }
  return Object.freeze({
    name,
    tables: Object.freeze(groupTables),
    table: Object.freeze(Object.fromEntries(groupTables.map((t) => [t.table.key, t]))),
    contextKeys: Object.freeze([...contextKeys]),
  });
}

/**
 * Declares the synced tables and sync groups once; server and client are
 * generated from it. Every mistake the type system can see is a type error,
 * and every invalid config throws a {@link ConfigError} naming the table and
 * column.
 *
 * @example
 * ```ts
 * export const config = defineSyncConfig({
 *   tables: {
 *     phone_book: table({ plural: 'phone_books' }, {
 *       owner_id: text().immutable(),
 *       name: text().validate(z.string().min(1)),
 *       phone_number: text(),
 *       note: text().nullable(),
 *     }),
 *   },
 *   syncGroups: {
 *     private_contacts: { phone_book: { restrictTo: { column: 'owner_id', context: 'userId' } } },
 *   },
 * });
 * ```
 */
export function defineSyncConfig<
  const TT extends Record<string, AnyTable>,
  const TG extends SyncGroupsInput,
>(input: { tables: TT; syncGroups: TG & NoInfer<CheckGroups<TT, TG>> }): SyncConfig<TT, TG> {
  if (
    input === null ||
    typeof input !== 'object' ||
    typeof input.tables !== 'object' ||
    input.tables === null
  ) {
    throw new ConfigError('defineSyncConfig needs { tables, syncGroups }.');
  }
  const tables: Record<string, ResolvedTable> = {};
  const bySqlName = new Map<string, string>();
  for (const [key, declared] of Object.entries(input.tables)) {
    const table = resolveTable(key, declared);
    const clash = bySqlName.get(table.sqlName.toLowerCase());
    if (clash !== undefined) {
      throw new ConfigError(
        `Tables "${clash}" and "${key}" both use the SQL name "${table.sqlName}"; give one another plural.`,
        { table: key },
      );
    }
    bySqlName.set(table.sqlName.toLowerCase(), key);
    tables[key] = table;
  }
  if (Object.keys(tables).length === 0)
    throw new ConfigError('defineSyncConfig needs at least one table.');
  if (
    input.syncGroups === null ||
    typeof input.syncGroups !== 'object' ||
    Object.keys(input.syncGroups).length === 0
  ) {
    throw new ConfigError('defineSyncConfig needs at least one sync group in syncGroups.');
  }
  const groups: Record<string, ResolvedGroup> = {};
  for (const [name, entries] of Object.entries(input.syncGroups)) {
    groups[name] = resolveGroup(name, entries as Record<string, unknown>, tables);
  }
  return Object.freeze({
    tables: Object.freeze(tables),
    groups: Object.freeze(groups),
    $tables: input.tables,
    $groups: input.syncGroups,
  }) as unknown as SyncConfig<TT, TG>;
}
