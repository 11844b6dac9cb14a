import { type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import {
  literalOutput,
  literalSelect,
  sampleInput,
  sampleOutput,
  type TestSchema,
} from './driver-fixture.ts';

/**
 * The tests every dialect must pass: exact values both ways, UTC sessions,
 * affected rows, streaming.
 */
export function exactValuesSuite(db: Kysely<TestSchema>): void {
  it('round-trips every seed type exactly', async () => {
    await db.insertInto('samples').values(sampleInput).execute();
    const row = await db
      .selectFrom('samples')
      .selectAll()
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    const { bytes, ...rest } = row;
    expect(rest).toEqual(sampleOutput);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...bytes]).toEqual([...sampleInput.bytes]);
  });

  it('parses literal values exactly, arrays included', async () => {
    const { rows } = await literalSelect.execute(db);
    const { bytes, ...rest } = rows[0] ?? {};
    expect(rest).toEqual(literalOutput);
    expect([...(bytes as Uint8Array)]).toEqual([0, 255]);
  });

  it('runs sessions in UTC and reports affected rows', async () => {
    const { rows } = await sql<{ TimeZone: string }>`show timezone`.execute(db);
    expect(rows[0]?.TimeZone).toBe('UTC');
    await db
      .insertInto('events')
      .values([{ name: 'x' }, { name: 'y' }])
      .execute();
    const result = await db.updateTable('events').set({ name: 'z' }).executeTakeFirst();
    expect(result.numUpdatedRows).toBe(2n);
  });

  it('streams a result in chunks of exact values, and frees the connection however the stream ends', async () => {
    const numbers = sql<{ n: string; at: unknown }>`
      select n::int8 as n, timestamptz '2024-03-10 12:00:00.123456+00' as at
      from generate_series(1, 2500) n`;
    const chunks: string[][] = [];
    const times = new Set<unknown>();
    for await (const chunk of db.getExecutor().stream(numbers.compile(db), 1000)) {
      chunks.push(chunk.rows.map((row) => row.n));
      for (const row of chunk.rows) times.add(row.at);
    }
    // Parsed exactly: text, not a Date that drops the microseconds.
    expect([...times]).toEqual(['2024-03-10 12:00:00.123456+00']);
    expect(chunks.map((rows) => rows.length)).toEqual([1000, 1000, 500]);
    expect(chunks.flat()).toEqual(Array.from({ length: 2500 }, (_, i) => String(i + 1)));

    for await (const chunk of db.getExecutor().stream(numbers.compile(db), 10)) {
      expect(chunk.rows).toHaveLength(10);
      break; // the rest is dropped
    }
    const failing = sql`select 1 / (1500 - n) as x from generate_series(1, 2000) n`;
    await expect(async () => {
      for await (const _ of db.getExecutor().stream(failing.compile(db), 100)) {
        // rows before the failure arrive; the stream then throws
      }
    }).rejects.toThrow(/division by zero/);
    // Through the query builder too, and the connection is usable afterwards.
    await db.deleteFrom('events').execute();
    await db
      .insertInto('events')
      .values([{ name: 'a' }, { name: 'b' }])
      .execute();
    const names: string[] = [];
    for await (const row of db.selectFrom('events').select('name').orderBy('name').stream(1)) {
      names.push(row.name);
    }
    expect(names).toEqual(['a', 'b']);
  });
}
