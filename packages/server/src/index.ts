export {
  createPgDialect,
  createPgKysely,
  createPgliteKysely,
  createPgPool,
  exactPgTypes,
  PgliteDialect,
  type PgSource,
} from './driver/index.ts';
