import { createTestDatabase } from '@carburetor/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import {
  createTestTables,
  literalOutput,
  literalSelect,
  type TestSchema,
} from './driver-fixture.ts';
import { exactValuesSuite } from './exact-values.suite.ts';

// Captured before this file creates any pool, to show the globals stay as they were.
const globalInt8Parser = pg.types.getTypeParser(20);
const globalTimestamptzParser = pg.types.getTypeParser(1184);

const database = await createTestDatabase('pg-driver');
const db = createPgKysely<TestSchema>(database.url);

beforeAll(async () => {
  await createTestTables(db);
});

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

describe('createPgKysely', () => {
  exactValuesSuite(db);

  it("leaves the app's global pg parsers alone, and ignores changes to them", async () => {
    expect(pg.types.getTypeParser(20)).toBe(globalInt8Parser);
    expect(pg.types.getTypeParser(1184)).toBe(globalTimestamptzParser);

    const plain = new pg.Pool({ connectionString: database.url, max: 1 });
    try {
      const { rows } = await plain.query("select '2024-03-10 12:00:00+00'::timestamptz as at");
      expect(rows[0].at).toBeInstanceOf(Date); // pg's default, as the app expects
    } finally {
      await plain.end();
    }

    // An app that turns numerics into floats globally does not change what we read.
    const appNumericParser = pg.types.getTypeParser(1700);
    pg.types.setTypeParser(1700, Number.parseFloat);
    try {
      const { rows } = await sql<{
        n: unknown;
      }>`select 0.1000000000000000000001::numeric as n`.execute(db);
      expect(rows[0]?.n).toBe('0.1000000000000000000001');
    } finally {
      pg.types.setTypeParser(1700, appNumericParser);
    }
  });

  it("works over the app's own pool without changing that pool's parsers", async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    const overPool = createPgKysely<TestSchema>(pool);
    try {
      const { rows } = await literalSelect.execute(overPool);
      const { bytes: _bytes, ...rest } = rows[0] ?? {};
      expect(rest).toEqual(literalOutput);
      // Streamed rows are parsed exactly too.
      const streamed = sql<{ at: unknown }>`select timestamptz '2024-03-10 12:00:00.5+00' as at`;
      const streamedRows: unknown[] = [];
      for await (const chunk of overPool.getExecutor().stream(streamed.compile(overPool), 10)) {
        streamedRows.push(...chunk.rows);
      }
      expect(streamedRows).toEqual([{ at: '2024-03-10 12:00:00.5+00' }]);
      const direct = await pool.query("select '2024-03-10 12:00:00+00'::timestamptz as at");
      expect(direct.rows[0].at).toBeInstanceOf(Date);
      const zone = await sql<{ TimeZone: string }>`show timezone`.execute(overPool);
      expect(zone.rows[0]?.TimeZone).toBe('UTC');
    } finally {
      await overPool.destroy(); // ends the pool, like kysely's PostgresDialect
    }
  });
});
