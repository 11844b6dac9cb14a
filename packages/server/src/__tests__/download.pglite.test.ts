import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe } from 'vitest';
import { createPgliteKysely } from '../driver/pglite-dialect.ts';
import { syncScenarios } from './sync-scenarios.suite.ts';

// One PGlite for the whole file: creating one takes seconds.
const pglite = new PGlite();
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db = createPgliteKysely<any>(pglite);

afterAll(async () => {
  await db.destroy();
  await pglite.close();
});

describe('download and triggers on PGlite', () => {
  syncScenarios(() => db);
});
