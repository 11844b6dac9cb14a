export {
  createSyncClient,
  type inferSyncPath,
  type RealtimeTransportOptions,
  type SyncClientOptions,
} from './client/create-sync-client.ts';
export type {
  ActiveHelpers,
  ActiveQuery,
  ClientTableKey,
  ClientWritableKey,
  RejectedRow,
  ReplicaTableName,
  SyncChangeEvent,
  SyncClient,
  SyncClientBase,
  WriteHelpers,
} from './client/types.ts';
export { createReplicaKysely, SqliteDriverDialect } from './driver/sqlite-dialect.ts';
export {
  createSqliteDriver,
  type SqliteBatchOptions,
  type SqliteConnection,
  type SqliteDriver,
  SqliteDriverError,
  type SqliteExecutor,
  type SqliteResult,
  type SqliteRow,
  type SqliteStatement,
  type SqliteValue,
} from './driver/sqlite-driver.ts';
export {
  type OnlineEventSetup,
  type OnlineListener,
  OnlineManager,
  onlineManager,
} from './environment/online-manager.ts';
export {
  type VisibilityEventSetup,
  type VisibilityListener,
  VisibilityManager,
  visibilityManager,
} from './environment/visibility-manager.ts';
export { CarburetorClientError, type ClientErrorCode } from './errors.ts';
export type { CursorInfo } from './inspect/cursor-list.ts';
export type { PendingRow } from './inspect/pending-rows.ts';
export { READ_ONLY_ROW_LIMIT, type ReadOnlyResult } from './inspect/read-only-query.ts';
export type { SyncActivity } from './inspect/sync-activity.ts';
export type { LiveOptions, LiveQuery, LiveResult, LiveSource } from './live/live-query.ts';
export { ReplicaDecodePlugin } from './replica/decode-plugin.ts';
export type { IdentityChange } from './replica/identity.ts';
export { LOCAL_REJECTION_CODES, type LocalRejectionCode } from './replica/rejections.ts';
export { uuidv7 } from './replica/uuid.ts';
export { migrateClient } from './schema/migrate.ts';
export type { BackoffOptions } from './sync/backoff.ts';
export type { ChangeEvent, ChangeListener } from './sync/change-emitter.ts';
export {
  type DownloadProgress,
  type ProgressTotals,
  totalProgress,
} from './sync/download-progress.ts';
export type { RealtimeOptions } from './sync/realtime-feed.ts';
export type { StartOptions } from './sync/sync-scheduler.ts';
export {
  NOT_STARTED_STATUS,
  type SyncStatus,
  type SyncStatusListener,
} from './sync/sync-status-store.ts';
export type { EventSourceConstructor } from './sync/transport.ts';
