import type pg from 'pg';
import { exactTextParsers } from './exact-types.ts';
import { pgModule } from './pg-module.ts';

/**
 * A pg `types` config for one pool or query: the exact parsers of
 * `exactTextParsers`, then pg's own for everything else. Handing it to a pool
 * leaves `pg.types` (the process-wide table the app may rely on) untouched.
 *
 * @example
 * const pool = new pg.Pool({ connectionString, types: exactPgTypes });
 */
export const exactPgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      const parser = exactTextParsers[oid];
      if (parser) return parser;
    }
    return pgModule().types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};
