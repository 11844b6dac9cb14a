import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPgliteKysely } from '../driver/pglite-dialect.ts';
import { CarburetorServerError } from '../errors.ts';
import { createTestTables, type TestSchema } from './driver-fixture.ts';
import { exactValuesSuite } from './exact-values.suite.ts';

// One PGlite for the file: creating one takes seconds here.
const pglite = new PGlite();
const db = createPgliteKysely<TestSchema>(pglite);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Rollback extends Error {}

beforeAll(async () => {
  await createTestTables(db);
});

beforeEach(async () => {
  await db.deleteFrom('events').execute();
});

afterAll(async () => {
  await db.destroy();
  await pglite.close();
});

describe('PgliteDialect', () => {
  exactValuesSuite(db);

  it('runs two concurrent transactions one after the other, even from two Kysely objects', async () => {
    const other = createPgliteKysely<TestSchema>(pglite);
    const order: string[] = [];
    const first = db.transaction().execute(async (tx) => {
      order.push('first:start');
      await tx.insertInto('events').values({ name: 'first' }).execute();
      await sleep(30); // room for the second transaction to cut in, were it not locked out
      const seen = await tx.selectFrom('events').select('name').orderBy('name').execute();
      order.push('first:end');
      return seen.map((r) => r.name);
    });
    const second = other
      .transaction()
      .execute(async (tx) => {
        order.push('second:start');
        await tx.insertInto('events').values({ name: 'second' }).execute();
        const seen = await tx.selectFrom('events').select('name').orderBy('name').execute();
        order.push('second:end');
        throw new Rollback(JSON.stringify(seen.map((r) => r.name)));
      })
      .catch((error: unknown) => (error instanceof Rollback ? JSON.parse(error.message) : error));

    // Interleaved statements would let `first` see `second`'s row (one session).
    expect(await first).toEqual(['first']);
    expect(await second).toEqual(['first', 'second']);
    expect(order).toEqual(['first:start', 'first:end', 'second:start', 'second:end']);
    const after = await db.selectFrom('events').select('name').execute();
    expect(after).toEqual([{ name: 'first' }]);
  });

  it('makes a plain query wait for an open transaction instead of reading into it', async () => {
    let outside: Promise<unknown> | undefined;
    await db
      .transaction()
      .execute(async (tx) => {
        await tx.insertInto('events').values({ name: 'uncommitted' }).execute();
        outside = db.selectFrom('events').selectAll().execute();
        await sleep(20);
        throw new Rollback();
      })
      .catch((error: unknown) => {
        if (!(error instanceof Rollback)) throw error;
      });
    expect(await outside).toEqual([]);
  });

  it('rolls back on an error inside a transaction and frees PGlite for later queries', async () => {
    await expect(
      db.transaction().execute(async (tx) => {
        await tx.insertInto('events').values({ name: 'doomed' }).execute();
        await sql`select * from no_such_table`.execute(tx);
      }),
    ).rejects.toThrow(/no_such_table/);
    const rows = await db.selectFrom('events').selectAll().execute();
    expect(rows).toEqual([]);
    // The session is usable again, not stuck in an aborted transaction.
    await db.insertInto('events').values({ name: 'later' }).execute();
    expect(await db.selectFrom('events').select('name').execute()).toEqual([{ name: 'later' }]);
  });

  it('supports savepoints', async () => {
    const tx = await db.startTransaction().execute();
    await tx.insertInto('events').values({ name: 'kept' }).execute();
    const sp = await tx.savepoint('sp "one"').execute();
    await sp.insertInto('events').values({ name: 'undone' }).execute();
    await sp.rollbackToSavepoint('sp "one"').execute();
    await tx.commit().execute();
    expect(await db.selectFrom('events').select('name').execute()).toEqual([{ name: 'kept' }]);
  });
});

describe('PGlite that cannot start', () => {
  // What Node's fs throws when a bundler hands PGlite a URL object that is not Node's (webpack's).
  const bundledUrlError = () => {
    class URL {
      constructor(readonly href: string) {}
    }
    try {
      readFileSync(new URL('file:///pglite.wasm') as never);
    } catch (error) {
      return error;
    }
    throw new Error("readFileSync accepted a URL that is not Node's");
  };
  const failingPglite = (error: unknown) =>
    ({ waitReady: Promise.reject(error), query: async () => ({ rows: [] }) }) as unknown as PGlite;

  it('names the setting when a bundler rewrote its file URLs (Next.js with webpack)', async () => {
    const cause = bundledUrlError();
    expect(String(cause)).toMatch(/Received an instance of URL/);
    const broken = createPgliteKysely(failingPglite(cause));
    const failure = await sql`select 1`.execute(broken).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CarburetorServerError);
    expect(failure).toMatchObject({ code: 'pglite_bundled', cause });
    expect((failure as Error).message).toContain(
      "serverExternalPackages: ['@electric-sql/pglite']",
    );
  });

  it('passes any other start failure on unchanged', async () => {
    const cause = new Error('disk full');
    const broken = createPgliteKysely(failingPglite(cause));
    await expect(sql`select 1`.execute(broken)).rejects.toBe(cause);
  });
});
