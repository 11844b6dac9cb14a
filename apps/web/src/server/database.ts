import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  createPgKysely,
  createPgliteKysely,
  type ListenTarget,
  migrateServer,
} from '@carburetor/server';
import type { Kysely } from 'kysely';
import { config } from '../sync-config.ts';

// biome-ignore lint/suspicious/noExplicitAny: the sync tables are reached through Carburetor, not typed queries
type AnyKysely = Kysely<any>;

/** The server database, opened and migrated once per process. */
export interface ServerDatabase {
  readonly db: AnyKysely;
  /** `'postgres'` when DATABASE_URL is set, else the embedded PGlite. */
  readonly kind: 'postgres' | 'pglite';
  /** The PGlite data directory, or the PostgreSQL URL without its password. */
  readonly where: string;
  /**
   * Where the realtime pokes LISTEN. Said explicitly: Next.js bundles
   * `instrumentation.ts` and the route apart, each with its own copy of
   * `@carburetor/server`, so the route's copy cannot recognise a Kysely the
   * other copy made.
   */
  readonly listen: ListenTarget;
}

const KEY = Symbol.for('carburetor.web.database');
type Holder = { [KEY]?: Promise<ServerDatabase> };

/** PGlite's data directory: PGLITE_DIR, else `apps/web/.pglite/phone-book`. */
function pgliteDir(): string {
  const dir =
    process.env['PGLITE_DIR'] ??
    resolve(/*turbopackIgnore: true*/ process.cwd(), '.pglite', 'phone-book');
  return resolve(/*turbopackIgnore: true*/ dir);
}

async function open(): Promise<ServerDatabase> {
  const url = process.env['DATABASE_URL'];
  if (url) {
    const db: AnyKysely = createPgKysely(url);
    await migrateServer(db, config);
    return { db, kind: 'postgres', where: url.replace(/:[^:@/]*@/, ':***@'), listen: url };
  }
  const dataDir = pgliteDir();
  // PGlite creates its own directory but not the parents.
  mkdirSync(dirname(dataDir), { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create({ dataDir });
  const db: AnyKysely = createPgliteKysely(pglite);
  await migrateServer(db, config);
  return { db, kind: 'pglite', where: dataDir, listen: pglite };
}

/**
 * The one database of this server process. Kept on `globalThis`, so hot
 * reloads and every route share it; first called from `instrumentation.ts`
 * at server start, since opening PGlite takes seconds and blocks the event
 * loop meanwhile.
 */
export function serverDatabase(): Promise<ServerDatabase> {
  const holder = globalThis as Holder;
  let database = holder[KEY];
  if (!database) {
    database = open();
    holder[KEY] = database;
    // A failed open is retried by the next caller rather than cached.
    database.catch(() => {
      if (holder[KEY] === database) delete holder[KEY];
    });
  }
  return database;
}
