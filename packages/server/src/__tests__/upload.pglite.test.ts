import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe } from 'vitest';
import { createPgliteKysely } from '../driver/pglite-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { uploadSuite } from './upload.suite.ts';
import { uploadConfig } from './upload-config.ts';

const pglite = new PGlite();
const db = createPgliteKysely<unknown>(pglite);

beforeAll(async () => {
  await migrateServer(db, uploadConfig);
});

afterAll(async () => {
  await db.destroy();
  await pglite.close();
});

describe('uploadChanges on PGlite', () => {
  uploadSuite(() => db);
});
