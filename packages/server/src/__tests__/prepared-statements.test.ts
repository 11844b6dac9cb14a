import { createTestDatabase } from '@carburetor/testing';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { prepareStatement } from '../driver/prepared-statements.ts';

const database = await createTestDatabase('prepared-statements');
const opened: Kysely<unknown>[] = [];

afterAll(async () => {
  for (const db of opened) await db.destroy();
  await database.drop();
});

/** One connection, so what it prepared is visible to the next statement. */
function oneConnection(options: { preparedStatements?: boolean } = {}): Kysely<unknown> {
  const db = createPgKysely<unknown>({ connectionString: database.url, max: 1 }, options);
  opened.push(db);
  return db;
}

async function preparedTexts(db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ statement: string }>`
    select statement from pg_prepared_statements`.execute(db);
  return rows.map((row) => row.statement);
}

const run = async (db: Kysely<unknown>, text: string, value: number) =>
  (await db.executeQuery<{ n: number }>(CompiledQuery.raw(text, [value]))).rows[0]?.n;

describe('prepared statements of the pg driver', () => {
  it('runs a statement asked for as a named prepared statement, with each call its parameters', async () => {
    const db = oneConnection();
    const text = 'select $1::int4 + 1 as n /* asked for */';
    prepareStatement(text);
    expect(await run(db, text, 1)).toBe(2);
    expect(await run(db, text, 41)).toBe(42);
    expect(await preparedTexts(db)).toEqual([text]);
  });

  it("never prepares an app's own statements", async () => {
    const db = oneConnection();
    expect(await run(db, 'select $1::int4 + 2 as n /* not asked for */', 1)).toBe(3);
    expect(await preparedTexts(db)).toEqual([]);
  });

  it('prepares nothing with preparedStatements: false', async () => {
    const db = oneConnection({ preparedStatements: false });
    const text = 'select $1::int4 + 3 as n /* asked for, turned off */';
    prepareStatement(text);
    expect(await run(db, text, 1)).toBe(4);
    expect(await preparedTexts(db)).toEqual([]);
  });

  it('runs the statement unnamed when the server lost it, then prepares nothing more', async () => {
    const db = oneConnection();
    const text = 'select $1::int4 + 4 as n /* lost */';
    prepareStatement(text);
    expect(await run(db, text, 1)).toBe(5);
    // What a pooler in transaction mode or an app's DISCARD ALL does to the session.
    await sql`deallocate all`.execute(db);
    expect(await run(db, text, 2)).toBe(6);
    expect(await run(db, text, 3)).toBe(7);
    expect(await preparedTexts(db)).toEqual([]);
  });

  it('leaves other errors as they are', async () => {
    const db = oneConnection();
    const text = 'select 1 / ($1::int4 - 1) as n /* fails */';
    prepareStatement(text);
    await expect(run(db, text, 1)).rejects.toMatchObject({ code: '22012' });
    expect(await run(db, text, 2)).toBe(1);
    expect(await preparedTexts(db)).toEqual([text]);
  });
});
