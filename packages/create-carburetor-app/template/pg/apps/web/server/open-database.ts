import { config } from '@{{name}}/sync-config';
import { createPgKysely, migrateServer } from '@carburetor/server';
import type { ServerDatabase } from './database';

/** The PostgreSQL at DATABASE_URL, migrated at every start (idempotent). */
export async function openDatabase(): Promise<ServerDatabase> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      'DATABASE_URL is not set: this app keeps its data in PostgreSQL. Start it with DATABASE_URL=postgres://user:password@host:5432/database.',
    );
  }
  const db = createPgKysely(url);
  await migrateServer(db, config); // idempotent: creates what is missing, never drops
  return { db, listen: url };
}
