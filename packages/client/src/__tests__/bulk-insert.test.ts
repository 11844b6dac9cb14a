import { defineSyncConfig, table, text } from '@carburetor/core';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import type { SyncChangeEvent } from '../client/types.ts';
import { CarburetorClientError } from '../errors.ts';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
import { NOWHERE, phoneBookConfig } from './fixtures.ts';
import { startSyncServer } from './sync-harness.ts';

// insertPhoneBooks(rows): many new rows in one transaction, checked first,
// written as multi-row statements (issue 25, bulk local writes).

const harness = await startSyncServer('client-bulk-insert');
afterAll(() => harness.stop());
const drivers: MemoryDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close().catch(() => undefined);
});

function newDriver() {
  const driver = memoryDriver();
  drivers.push(driver);
  return driver;
}

/** A client with no server: the writes stay local. */
const offline = () =>
  createSyncClient(phoneBookConfig, {
    driver: newDriver(),
    url: NOWHERE,
    groups: ['private_contacts'],
    clientId: 'dev-bulk',
  });

const contacts = (owner: string, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    owner_id: owner,
    name: `contact ${from + i}`,
    phone_number: String(from + i),
  }));

async function storedCount(driver: MemoryDriver) {
  const result = await driver.execute('SELECT count(*) AS n FROM phone_books');
  return Number(result.rows[0]?.['n']);
}

/** A table whose plural is its key: one name for both inserts. */
const sheepConfig = defineSyncConfig({
  tables: { sheep: table({ plural: 'sheep' }, { name: text() }) },
  syncGroups: { flock: { sheep: true } },
});

describe('insertPhoneBooks(rows)', () => {
  test('writes every row in one transaction: one change event, all pending, all uploaded by one sync', async () => {
    const user = 'bulk-user';
    const a = await harness.client(user, { realtime: false });
    const events: SyncChangeEvent[] = [];
    a.sync.onChange((event) => events.push(event));
    const rows = await a.sync.insertPhoneBooks(contacts(user, 1_234));
    expect(rows).toHaveLength(1_234);
    expect(rows[5]).toMatchObject({ owner_id: user, name: 'contact 5', record_deleted: false });
    expect(new Set(rows.map((r) => r.id)).size).toBe(1_234);
    expect(events).toHaveLength(1);
    expect(events[0]?.ids?.['phone_book']).toHaveLength(1_234);
    expect(a.sync.status.pendingCount).toBe(1_234);
    const pending = await a.sync.pending();
    expect(new Set(pending.flatMap((p) => p.columns.map((c) => c.writtenAt))).size).toBe(1);

    await a.sync.sync();
    expect(a.sync.status.pendingCount).toBe(0);
    const { rows: onServer } = await harness.db
      .selectFrom('phone_books')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('owner_id', '=', user)
      .execute()
      .then((r) => ({ rows: r }));
    expect(Number(onServer[0]?.n)).toBe(1_234);
  });

  test('an invalid row fails the call naming its index; nothing is written', async () => {
    const client = await offline();
    const driver = drivers.at(-1)!;
    const rows = contacts('u1', 5);
    (rows[3] as { name: unknown }).name = '';
    const error = await client.insertPhoneBooks(rows).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CarburetorClientError);
    expect(error).toMatchObject({ code: 'invalid_value', table: 'phone_book', column: 'name' });
    expect((error as Error).message).toMatch(
      /^insertPhoneBooks\(rows\), row 3: Cannot write phone_book\.name: .*a contact needs a name\. Nothing was written\.$/,
    );
    expect(await storedCount(driver)).toBe(0);
    expect(client.status.pendingCount).toBe(0);
  });

  test('duplicate ids, in the call or in the replica, fail with duplicate_id; nothing is written', async () => {
    const client = await offline();
    const driver = drivers.at(-1)!;
    const [first, second] = contacts('u1', 2);
    await expect(
      client.insertPhoneBooks([
        { ...first!, id: 'same' },
        { ...second!, id: 'same' },
      ]),
    ).rejects.toMatchObject({
      code: 'duplicate_id',
      message: 'insertPhoneBooks(rows): rows 0 and 1 both have the id same. Nothing was written.',
    });
    const held = await client.insertPhoneBook({ ...first!, id: 'held' });
    await expect(
      client.insertPhoneBooks([...contacts('u1', 20), { ...second!, id: held.id }]),
    ).rejects.toMatchObject({
      code: 'duplicate_id',
      message: expect.stringMatching(/phone_book held \(row 20\) already exists in the replica/),
    });
    expect(await storedCount(driver)).toBe(1);
  });

  test('not an array, or too many rows, is refused; an empty array writes nothing', async () => {
    const client = await offline();
    await expect(client.insertPhoneBooks({} as never)).rejects.toMatchObject({
      code: 'invalid_value',
      message: 'insertPhoneBooks(rows) takes an array of rows (objects of column values).',
    });
    await expect(
      client.insertPhoneBooks(new Array(100_001).fill(contacts('u1', 1)[0])),
    ).rejects.toMatchObject({
      code: 'invalid_value',
      message: expect.stringMatching(/takes at most 100000 rows a call; got 100001/),
    });
    const events: unknown[] = [];
    client.onChange((event) => events.push(event));
    expect(await client.insertPhoneBooks([])).toEqual([]);
    expect(events).toEqual([]);
  });

  test('inside a transaction, with the one write time of the transaction', async () => {
    const client = await offline();
    await client.transaction(async (tx) => {
      const [a] = await tx.insertPhoneBooks(contacts('u1', 3));
      await tx.updatePhoneBook(a!.id, { note: 'first of three' });
    });
    const rows = await client.activePhoneBooks().orderBy('name').execute();
    expect(rows.map((r) => r.note)).toEqual(['first of three', null, null]);
    const times = new Set(
      (await client.pending()).flatMap((p) => p.columns.map((c) => c.writtenAt)),
    );
    expect(times.size).toBe(1);
  });

  test('a table whose plural is its key: insertSheep takes a row or an array of rows', async () => {
    const client = await createSyncClient(sheepConfig, {
      driver: newDriver(),
      url: NOWHERE,
      groups: ['flock'],
    });
    const dolly = await client.insertSheep({ name: 'Dolly' });
    const flock = await client.insertSheep([{ name: 'Shaun' }, { name: 'Timmy' }]);
    expect(dolly.name).toBe('Dolly');
    expect(flock.map((s) => s.name)).toEqual(['Shaun', 'Timmy']);
    expect((await client.activeSheep().execute()).length).toBe(3);
  });
});
