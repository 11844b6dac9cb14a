import { createPgKysely, migrateServer } from '@carburetor/server';
import { config } from '../src/sync-config.ts';

export const db = createPgKysely(process.env.DATABASE_URL!, {
  onError: (error) => console.warn('database connection broke', error), // optional
});
await migrateServer(db, config); // idempotent; safe from every instance at once
