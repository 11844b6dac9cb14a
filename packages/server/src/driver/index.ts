export { isDatabaseUnavailable } from './connection-errors.ts';
export { exactPgTypes } from './exact-pg-types.ts';
export {
  exactTextParsers,
  PG_OIDS,
  parseBytea,
  parsePgArray,
  type TextParser,
} from './exact-types.ts';
export {
  createPgDialect,
  createPgKysely,
  createPgPool,
  type PgDriverOptions,
  type PgSource,
} from './pg-dialect.ts';
export { createPgliteKysely, PgliteDialect } from './pglite-dialect.ts';
