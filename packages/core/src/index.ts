export {
  type AnyColumn,
  bigint,
  boolean,
  bytea,
  Column,
  type ColumnDefault,
  type ColumnRole,
  type ColumnSpec,
  type ColumnState,
  date,
  double,
  integer,
  jsonb,
  numeric,
  text,
  timestamptz,
  uuid,
} from './config/column.ts';
export {
  base64ToBytes,
  bytesToBase64,
  type ColumnKind,
  type ColumnKindValues,
  type ColumnTypeInfo,
  columnKinds,
  columnTypes,
  type JsonValue,
} from './config/column-types.ts';
export type {
  ClientTable,
  ColumnValue,
  ServerColumnMetadataValue,
  ServerTable,
  Simplify,
  TableInsert,
  TableRow,
  TableUpdate,
} from './config/infer.ts';
export { type PascalCase, pascalCase, type TableNames, tableNames } from './config/names.ts';
export {
  type AnySyncConfig,
  type ClientDatabase,
  defineSyncConfig,
  type GroupContext,
  type GroupContextKey,
  type GroupName,
  type GroupTableKey,
  type GroupTableOptions,
  type InferInsert,
  type InferNames,
  type InferRow,
  type InferUpdate,
  RESERVED_COLUMN_PREFIX,
  RESERVED_GROUP_NAMES,
  type ResolvedColumn,
  type ResolvedGroup,
  type ResolvedGroupTable,
  type ResolvedTable,
  type ServerDatabase,
  type SyncConfig,
  type SyncGroupsShape,
  type TableKey,
  type WritableTableKey,
} from './config/sync-config.ts';
export { type AnyTable, type ColumnsShape, type Table, table } from './config/table.ts';
export { normalizeTimestamp, timestampToMs } from './config/timestamp.ts';
export {
  CarburetorError,
  ConfigError,
  type CoreErrorCode,
  MalformedMetadataError,
} from './errors.ts';
export * from './protocol/index.ts';
