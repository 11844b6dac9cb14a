import { config } from '@{{name}}/sync-config';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createPgliteKysely, migrateServer } from '@carburetor/server';
import type { ServerDatabase } from './database';

/** The embedded PGlite in PGLITE_DIR (default `.pglite/data`), created and migrated on first use. */
export async function openDatabase(): Promise<ServerDatabase> {
  const dataDir = resolve(
    /*turbopackIgnore: true*/ process.cwd(),
    process.env.PGLITE_DIR ?? '.pglite/data',
  );
  // PGlite creates its own folder, not its parents.
  mkdirSync(dirname(dataDir), { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create({ dataDir });
  const db = createPgliteKysely(pglite);
  await migrateServer(db, config); // idempotent: creates what is missing, never drops
  return { db, listen: pglite };
}
