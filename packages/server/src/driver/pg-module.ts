import { createRequire } from 'node:module';
import type PgModule from 'pg';

let loaded: typeof PgModule | undefined;

/**
 * node-postgres, loaded on first use. It is an optional peer dependency: a
 * server on PGlite never installs it, so nothing may import it at load time.
 * A missing `pg` is an error that says what to install, thrown by the first
 * call that needs it (`createPgKysely`, `createPgPool`, a LISTEN by URL).
 */
export function pgModule(): typeof PgModule {
  if (loaded) return loaded;
  try {
    // pg is CommonJS: require keeps the drivers' constructors synchronous.
    loaded = createRequire(import.meta.url)('pg') as typeof PgModule;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      'Carburetor: PostgreSQL over TCP needs the "pg" package, an optional peer dependency of @carburetor/server. Install it (`npm install pg`), or use createPgliteKysely for an embedded database.',
      { cause: error },
    );
  }
  return loaded;
}
