export {
  type ContextValues,
  type DownloadOptions,
  downloadChanges,
} from './download/download.ts';
export type { ReadDatabases } from './download/read-route.ts';
export type { RequestConfig } from './download/request-config.ts';
export {
  createPgDialect,
  createPgKysely,
  createPgliteKysely,
  createPgPool,
  exactPgTypes,
  isDatabaseUnavailable,
  type PgDriverOptions,
  PgliteDialect,
  type PgSource,
} from './driver/index.ts';
export {
  CarburetorServerError,
  MigrationError,
  type ServerErrorCode,
  type ServerErrorDetails,
} from './errors.ts';
export type {
  ChangeBus,
  ChangeBusHandlers,
  ChangeBusSubscription,
} from './realtime/change-bus.ts';
export {
  ChangeHub,
  type ChangeHubOptions,
  type ChangePoke,
  createChangeHub,
} from './realtime/change-hub.ts';
export {
  CHANGE_MESSAGE_VERSION,
  type ChangeMessage,
  decodeChangeMessage,
  encodeChangeMessage,
  type TableChange,
} from './realtime/change-message.ts';
export {
  createPostgresChangeBus,
  type ListenTarget,
  type PostgresChangeBusOptions,
} from './realtime/postgres-bus.ts';
export {
  createRedisChangeBus,
  type RedisChangeBusOptions,
} from './realtime/redis-bus.ts';
export {
  logSyncError,
  type SyncErrorHandler,
  type SyncErrorReport,
} from './router/client-errors.ts';
export {
  createSyncRouter,
  type SyncBaseProcedure,
  type SyncGroupProcedures,
  type SyncRouter,
  type SyncRouterOptions,
} from './router/sync-router.ts';
export { type MigrationResult, migrateServer } from './schema/migrate.ts';
export { CHANGES_CHANNEL } from './schema/names.ts';
export { type PurgeOptions, purgeDeletedRows } from './schema/purge.ts';
export { type UploadOptions, uploadChanges } from './upload/upload.ts';
