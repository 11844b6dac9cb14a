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
