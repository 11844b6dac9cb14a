import { type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import {
  literalOutput,
  literalSelect,
  sampleInput,
  sampleOutput,
  type TestSchema,
} from './test-fixture.ts';

/** The tests every dialect must pass: exact values both ways, UTC sessions, affected rows. */
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
}
