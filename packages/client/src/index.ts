export {
  createSyncClient,
  type SyncClientOptions,
} from './client/create-sync-client.ts';
export type {
  ActiveHelpers,
  ActiveQuery,
  ClientTableKey,
  ClientWritableKey,
  RejectedRow,
  ReplicaTableName,
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
export { CarburetorClientError, type ClientErrorCode } from './errors.ts';
export { ReplicaDecodePlugin } from './replica/decode-plugin.ts';
export { uuidv7 } from './replica/uuid.ts';
export { migrateClient } from './schema/migrate.ts';
