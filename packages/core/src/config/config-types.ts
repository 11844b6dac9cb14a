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
import type { ResolvedGroup, ResolvedTable } from './resolved.ts';
import type { AnyTable, ColumnsShape } from './table.ts';

/** Router keys tRPC reserves; a group may not take them. */
export const RESERVED_GROUP_NAMES = ['then', 'call', 'apply'] as const;
type ReservedGroupName = (typeof RESERVED_GROUP_NAMES)[number];

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
export type CheckGroups<TT extends Record<string, AnyTable>, TG> = {
  [G in keyof TG]: G extends ReservedGroupName
    ? never
    : { [K in keyof TG[G]]: K extends keyof TT ? true | GroupTableOptions<TT[K]> : never };
};

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
