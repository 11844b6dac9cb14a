import { type Generated, sql } from 'kysely';
import { afterEach, describe, expect, test } from 'vitest';
import { createReplicaKysely } from '../driver/sqlite-dialect.ts';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';

interface DB {
  notes: { id: Generated<number>; body: string; big: bigint | null; data: Uint8Array | null };
  log: { seq: Generated<number>; entry: string };
}

const drivers: MemoryDriver[] = [];

async function setup() {
  const driver = memoryDriver();
  drivers.push(driver);
  const db = createReplicaKysely<DB>(driver);
  await db.schema
    .createTable('notes')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('big', 'integer')
    .addColumn('data', 'blob')
    .execute();
  await db.schema
    .createTable('log')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('entry', 'text', (c) => c.notNull())
    .execute();
  return { driver, db };
}

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
});

describe('SqliteDriverDialect', () => {
  test('inserts and selects through the query builder', async () => {
    const { db } = await setup();
    const inserted = await db
      .insertInto('notes')
      .values({
        body: `O'Brien said "hi" – 🚀`,
        big: 9007199254740993n,
        data: new Uint8Array([1, 2]),
      })
      .executeTakeFirstOrThrow();
    expect(inserted.insertId).toBe(1n);
    expect(inserted.numInsertedOrUpdatedRows).toBe(1n);

    const row = await db.selectFrom('notes').selectAll().where('id', '=', 1).executeTakeFirst();
    expect(row).toEqual({
      id: 1,
      body: `O'Brien said "hi" – 🚀`,
      big: 9007199254740993n,
      data: new Uint8Array([1, 2]),
    });

    const updated = await db.updateTable('notes').set({ body: 'x' }).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(1n);
    const returned = await db
      .insertInto('notes')
      .values({ body: 'y' })
      .returning(['id', 'body'])
      .execute();
    expect(returned).toEqual([{ id: 2, body: 'y' }]);
    const deleted = await db.deleteFrom('notes').executeTakeFirst();
    expect(deleted.numDeletedRows).toBe(2n);
  });

  test('a transaction commits', async () => {
    const { db } = await setup();
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ body: 'a' }).execute();
      await trx.insertInto('notes').values({ body: 'b' }).execute();
    });
    const { n } = await db
      .selectFrom('notes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(n).toBe(2);
  });

  test('a transaction rolls back when its callback throws', async () => {
    const { db } = await setup();
    await db.insertInto('notes').values({ body: 'kept' }).execute();
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ body: 'lost' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.selectFrom('notes').select('body').execute();
    expect(rows).toEqual([{ body: 'kept' }]);
  });

  test('two concurrent transactions do not interleave', async () => {
    const { db } = await setup();
    const work = (name: string) =>
      db.transaction().execute(async (trx) => {
        for (let step = 1; step <= 3; step++) {
          await trx
            .insertInto('log')
            .values({ entry: `${name}${step}` })
            .execute();
          await tick(); // give the other transaction every chance to cut in
        }
      });
    await Promise.all([work('A'), work('B')]);
    const entries = (await db.selectFrom('log').select('entry').orderBy('seq').execute()).map(
      (r) => r.entry,
    );
    expect([
      ['A1', 'A2', 'A3', 'B1', 'B2', 'B3'],
      ['B1', 'B2', 'B3', 'A1', 'A2', 'A3'],
    ]).toContainEqual(entries);
  });

  test('a query outside the transaction waits for it to end', async () => {
    const { db, driver } = await setup();
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const transaction = db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ body: 'uncommitted' }).execute();
      entered();
      await tick(20);
      throw new Error('abort');
    });
    await inside;
    const outside = db.selectFrom('notes').selectAll().execute();
    const direct = driver.execute('SELECT count(*) AS n FROM notes');
    await expect(transaction).rejects.toThrow('abort');
    expect(await outside).toEqual([]);
    expect((await direct).rows).toEqual([{ n: 0 }]);
  });

  test('two kysely instances on one driver share its lock', async () => {
    const { db, driver } = await setup();
    const other = createReplicaKysely<DB>(driver);
    const work = (k: typeof db, name: string) =>
      k.transaction().execute(async (trx) => {
        await trx
          .insertInto('log')
          .values({ entry: `${name}1` })
          .execute();
        await tick();
        await trx
          .insertInto('log')
          .values({ entry: `${name}2` })
          .execute();
      });
    await Promise.all([work(db, 'A'), work(other, 'B')]);
    const entries = (await db.selectFrom('log').select('entry').orderBy('seq').execute()).map(
      (r) => r.entry,
    );
    expect([
      ['A1', 'A2', 'B1', 'B2'],
      ['B1', 'B2', 'A1', 'A2'],
    ]).toContainEqual(entries);
  });

  test('savepoints of a controlled transaction', async () => {
    const { db } = await setup();
    const trx = await db.startTransaction().execute();
    await trx.insertInto('notes').values({ body: 'one' }).execute();
    const sp = await trx.savepoint('before_two').execute();
    await sp.insertInto('notes').values({ body: 'two' }).execute();
    await sp.rollbackToSavepoint('before_two').execute();
    await trx.commit().execute();
    expect(await db.selectFrom('notes').select('body').execute()).toEqual([{ body: 'one' }]);
  });

  test('raw sql and streaming', async () => {
    const { db } = await setup();
    const { rows } = await sql<{ v: bigint }>`SELECT ${9007199254740993n} AS v`.execute(db);
    expect(rows).toEqual([{ v: 9007199254740993n }]);
    await expect(async () => {
      for await (const _ of db.selectFrom('notes').selectAll().stream()) {
        // unreachable
      }
    }).rejects.toMatchObject({ code: 'unsupported' });
  });
});
