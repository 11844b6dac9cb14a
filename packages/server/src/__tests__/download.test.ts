import { createTestDatabase } from '@carburetor/testing';
import { afterAll, describe } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { syncScenarios } from './sync-scenarios.suite.ts';

const database = await createTestDatabase('download');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db = createPgKysely<any>(database.url);

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

describe('download and triggers on PostgreSQL (pg)', () => {
  syncScenarios(() => db);
});
