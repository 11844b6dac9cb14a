export { type ContextValues, downloadChanges } from './download/download.ts';
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
export {
  ChangeHub,
  type ChangeHubOptions,
  type ChangePoke,
  createChangeHub,
  type ListenTarget,
} from './realtime/change-hub.ts';
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
export { uploadChanges } from './upload/upload.ts';
