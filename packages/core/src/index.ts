export {
  type AnyColumn,
  bigint,
  boolean,
  bytea,
  Column,
  type ColumnBuilderState,
  type ColumnDefault,
  type ColumnRole,
  type ColumnSpec,
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
  isStorableText,
  type JsonValue,
} from './config/column-types.ts';
export {
  type ConfigChange,
  type ConfigChangeKind,
  compareConfigs,
  servesOlder,
} from './config/config-changes.ts';
export {
  CONFIG_IDENTITY_PATTERN,
  type ColumnDefinition,
  type ConfigDefinition,
  configDefinition,
  configIdentity,
  definitionIdentity,
  type GroupTableDefinition,
  type TableDefinition,
} from './config/config-definition.ts';
export {
  type AnySyncConfig,
  type ClientDatabase,
  type GroupContext,
  type GroupContextKey,
  type GroupName,
  type GroupTableKey,
  type GroupTableOptions,
  type InferInsert,
  type InferNames,
  type InferRow,
  type InferUpdate,
  RESERVED_GROUP_NAMES,
  type ServerDatabase,
  type SyncConfig,
  type SyncGroupsShape,
  type TableKey,
  type WritableTableKey,
} from './config/config-types.ts';
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
export { RESERVED_COLUMN_PREFIX } from './config/resolve-table.ts';
export type {
  ResolvedColumn,
  ResolvedGroup,
  ResolvedGroupTable,
  ResolvedTable,
} from './config/resolved.ts';
export { defineSyncConfig } from './config/sync-config.ts';
export { type AnyTable, type ColumnsShape, type Table, table } from './config/table.ts';
export { normalizeTimestamp, timestampFromMicros, timestampToMs } from './config/timestamp.ts';
export {
  CarburetorError,
  ConfigError,
  type CoreErrorCode,
  MalformedMetadataError,
} from './errors.ts';
export { UPDATE_REQUIRED_TRPC_CODE } from './protocol/config-identity.ts';
export {
  type CursorPosition,
  pushContinues,
  readCursorPosition,
} from './protocol/cursor-position.ts';
export {
  DownloadRowReader,
  downloadRowsToWire,
  type ReadDownloadRow,
} from './protocol/download-rows.ts';
export {
  CLOCK_SKEW_TOLERANCE_MS,
  DEFAULT_PAGE_SIZE,
  MAX_CURSOR_LENGTH,
  MAX_PAGE_SIZE,
  MAX_PUSHED_ROWS,
  MAX_REMAINING_COUNT,
  MAX_UPLOAD_ROWS,
  MAX_VALUE_BYTES,
  PROTOCOL_VERSION,
  type ProtocolVersion,
  SUPPORTED_PROTOCOL_VERSIONS,
  SUPPORTED_PROTOCOL_VERSIONS_TEXT,
} from './protocol/limits.ts';
export {
  type ChangesEvent,
  type ChangesInput,
  type CheckedUploadRow,
  checkUploadRow,
  DOWNLOAD_ROW,
  type DownloadRequest,
  type DownloadResponse,
  type DownloadRow,
  type DownloadTablePage,
  type DownloadTableRequest,
  downloadRowStampAt,
  type LeanRowResult,
  type PushedPage,
  type RemainingEstimate,
  type RowErrorCode,
  type ServerColumn,
  type UploadColumn,
  type UploadRequest,
  type UploadResponse,
  type UploadRow,
  type UploadRowResult,
  type UploadTableResult,
  WIRE_ROW,
  type WireMetadata,
  type WireRow,
  type WireStamp,
} from './protocol/messages.ts';
export {
  decodeWireValue,
  encodeWireValue,
  nonFiniteAsText,
  wireValueOfPg,
  wireValueText,
} from './protocol/value-codec.ts';
export {
  checkValue,
  checkWireValue,
  describeValue,
  encodeValues,
  type ValueCheck,
} from './protocol/values.ts';
export type { IncomingRow, LocalRow, MergedRow } from './rules/client-merge.ts';
export {
  decideIncomingColumn,
  mergeIncomingRow,
  replaceCleanColumns,
} from './rules/client-merge.ts';
export type {
  ClientColumnMetadata,
  ClientColumnStamp,
  ServerColumnMetadata,
} from './rules/column-metadata.ts';
export { decodeColumnMetadata, encodeColumnMetadata } from './rules/column-metadata.ts';
export {
  type AcknowledgedFlag,
  applyTombstone,
  deletionWinner,
  isDeleted,
  mayBecome,
  mergeDeletedFlag,
  mergedDeleted,
  takesResolvedDeletion,
} from './rules/deleted-flag.ts';
export type { Acknowledgement } from './rules/dirty.ts';
export { acknowledge, dirtyColumns, markDirty, uploadSnapshot } from './rules/dirty.ts';
export { fingerprint } from './rules/fingerprint.ts';
export type { ClockState, HybridClock, HybridClockOptions } from './rules/hlc.ts';
export { createHybridClock } from './rules/hlc.ts';
export {
  contextValueWire,
  type ScopeMiss,
  scopeMiss,
  scopeValueKey,
} from './rules/scope.ts';
export type { ColumnState, RowState } from './rules/server-merge.ts';
export { mergeColumn, mergeRow } from './rules/server-merge.ts';
export type { WriteStamp } from './rules/stamp.ts';
export {
  compareStamps,
  counterOfWriteTime,
  isNewer,
  isReplicaClientId,
  isValidClientId,
  isValidWriteTime,
  maxStamp,
  msOfWriteTime,
  SERVER_CLIENT_ID,
  writeTimeFromMs,
} from './rules/stamp.ts';
