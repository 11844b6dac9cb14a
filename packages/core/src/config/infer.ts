import type { ColumnType, Generated } from 'kysely';
import type { AnyColumn, ColumnRole } from './column.ts';
import type { DefaultPlural, TableNames } from './names.ts';
import type { AnyTable, ColumnsShape, Table } from './table.ts';

/** Flattens an intersection so editors and type tests show one object. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

// Indexed access (`C['_']`) rather than `infer` throughout: much cheaper for the checker.
/** The TypeScript value of a column, `null` included when nullable. */
export type ColumnValue<C extends AnyColumn> = C['_']['nullable'] extends true
  ? C['_']['data'] | null
  : C['_']['data'];

type KeysWithRole<C extends ColumnsShape, R extends ColumnRole> = {
  [K in keyof C]: C[K]['_']['role'] extends R ? K : never;
}[keyof C] &
  string;

type SpecialKey<C extends ColumnsShape, R extends ColumnRole, Default extends string> = [
  KeysWithRole<C, R>,
] extends [never]
  ? Default
  : KeysWithRole<C, R>;

/** Name of the id column of a table's columns. */
export type IdKey<C extends ColumnsShape> = SpecialKey<C, 'id', 'id'>;
/** Name of the deleted flag. */
export type DeletedKey<C extends ColumnsShape> = SpecialKey<C, 'isDeleted', 'is_deleted'>;
/** Name of the last-synced-at column. */
export type LastSyncedAtKey<C extends ColumnsShape> = SpecialKey<
  C,
  'lastSyncedAt',
  'last_synced_at'
>;
/** Name of the column-sync-metadata column. */
export type MetadataKey<C extends ColumnsShape> = SpecialKey<
  C,
  'columnSyncMetadata',
  'column_sync_metadata'
>;
/** Name of the client's dirty flag. */
export type DirtyFlagKey<C extends ColumnsShape> = SpecialKey<C, 'dirtyFlag', 'dirty_flag'>;

type SpecialKeys<C extends ColumnsShape> =
  | IdKey<C>
  | DeletedKey<C>
  | LastSyncedAtKey<C>
  | MetadataKey<C>
  | DirtyFlagKey<C>;

/** The user data columns of a table (no special columns). */
export type DataKeys<C extends ColumnsShape> = Exclude<keyof C & string, SpecialKeys<C>>;

type OptionalOnInsert<C extends ColumnsShape> = {
  [K in DataKeys<C>]: C[K]['_']['nullable'] extends true
    ? K
    : C[K]['_']['hasDefault'] extends true
      ? K
      : never;
}[DataKeys<C>];

/** Data columns that may change after insert. */
export type MutableKeys<C extends ColumnsShape> = {
  [K in DataKeys<C>]: C[K]['_']['immutable'] extends true ? never : K;
}[DataKeys<C>];

/** Data columns that never change after insert (restriction columns must be among them). */
export type ImmutableKeys<C extends ColumnsShape> = Exclude<DataKeys<C>, MutableKeys<C>>;

/** The columns of a declared table. */
export type ColumnsOf<T> = T extends Table<infer C, string | undefined> ? C : never;

/** A table's row as the app reads it: id, data columns, deleted flag, last-synced-at. */
export type TableRow<T extends AnyTable, C extends ColumnsShape = ColumnsOf<T>> = Simplify<
  { [K in IdKey<C>]: string } & { [K in DataKeys<C>]: ColumnValue<C[K]> } & {
    [K in DeletedKey<C>]: boolean;
  } & { [K in LastSyncedAtKey<C>]: string | null }
>;

/** What an insert takes: the id is optional (a UUIDv7 is generated), defaulted and nullable columns too. */
export type TableInsert<T extends AnyTable, C extends ColumnsShape = ColumnsOf<T>> = Simplify<
  { [K in IdKey<C>]?: string } & {
    [K in Exclude<DataKeys<C>, OptionalOnInsert<C>>]: ColumnValue<C[K]>;
  } & { [K in OptionalOnInsert<C>]?: ColumnValue<C[K]> }
>;

/** What an update takes: any mutable data columns; `null` is a real value for nullable ones. */
export type TableUpdate<T extends AnyTable, C extends ColumnsShape = ColumnsOf<T>> = Simplify<{
  [K in MutableKeys<C>]?: ColumnValue<C[K]>;
}>;

/** The plural (SQL name) of table `T` under key `K`. */
export type PluralOf<K extends string, T> =
  T extends Table<ColumnsShape, infer P> ? (P extends string ? P : DefaultPlural<K>) : never;

/** The generated names of table `K` of a tables record. */
export type NamesOf<TT extends Record<string, AnyTable>, K extends keyof TT & string> = TableNames<
  K,
  PluralOf<K, TT[K]>
>;

/** Server column metadata as kysely reads it. */
export type ServerColumnMetadataValue = Record<string, { t: number; c: string }>;

type KyselyDataColumn<C extends AnyColumn> = C['_']['hasDefault'] extends true
  ? Generated<ColumnValue<C>>
  : C['_']['nullable'] extends true
    ? ColumnType<ColumnValue<C>, ColumnValue<C> | undefined, ColumnValue<C>>
    : ColumnValue<C>;

/** One table of the PostgreSQL database, for `Kysely<ServerDatabase<typeof config>>`. */
export type ServerTable<T extends AnyTable, C extends ColumnsShape = ColumnsOf<T>> = Simplify<
  { [K in IdKey<C>]: string } & { [K in DataKeys<C>]: KyselyDataColumn<C[K]> } & {
    [K in DeletedKey<C>]: Generated<boolean>;
  } & { [K in LastSyncedAtKey<C>]: Generated<string> } & {
    [K in MetadataKey<C>]: Generated<ServerColumnMetadataValue>;
  }
>;

/** One table of the SQLite replica, for `Kysely<ClientDatabase<typeof config>>`. */
export type ClientTable<T extends AnyTable, C extends ColumnsShape = ColumnsOf<T>> = Simplify<
  { [K in IdKey<C>]: string } & { [K in DataKeys<C>]: KyselyDataColumn<C[K]> } & {
    [K in DeletedKey<C>]: Generated<boolean>;
  } & { [K in LastSyncedAtKey<C>]: Generated<string | null> } & {
    [K in MetadataKey<C>]: Generated<string>;
  } & { [K in DirtyFlagKey<C>]: Generated<'insert' | 'update' | null> }
>;
