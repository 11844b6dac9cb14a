import { mkdirSync } from 'node:fs';
import { createPgliteKysely, migrateServer } from '@carburetor/server';
import { PGlite } from '@electric-sql/pglite';
import { config } from '../sync-config';

mkdirSync('./data', { recursive: true });
export const db = createPgliteKysely(new PGlite('./data/pglite'));
await migrateServer(db, config); // idempotent; safe from every instance at once
