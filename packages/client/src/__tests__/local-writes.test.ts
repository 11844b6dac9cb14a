import { afterEach, describe, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { CarburetorClientError } from '../errors.ts';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
import { kindsConfig, NOWHERE, phoneBookConfig } from './fixtures.ts';

const drivers: MemoryDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close().catch(() => undefined);
});

async function phoneBook(name?: string) {
  const driver = memoryDriver(name === undefined ? {} : { name });
  drivers.push(driver);
  const client = await createSyncClient(phoneBookConfig, {
    driver,
    url: NOWHERE,
    groups: ['private_contacts', 'directory'],
    clientId: 'dev-a',
  });
  return { driver, client };
}

type Meta = Record<string, { t: number; c: string; d?: 1 }>;

async function raw(driver: MemoryDriver, id: string) {
  const result = await driver.execute('SELECT * FROM phone_books WHERE id = ?', [id]);
  const row = result.rows[0]!;
  return { ...row, sync_metadata: JSON.parse(String(row['sync_metadata'])) as Meta } as Record<
    string,
    unknown
  > & { sync_metadata: Meta };
}

const contact = { owner_id: 'u1', name: 'Ada', phone_number: '1' };

describe('local writes', () => {
  test('insert stores the row with every synced column dirty and returns the app row', async () => {
    const { client, driver } = await phoneBook();
    const row = await client.insertPhoneBook(contact);
    expect(row).toEqual({
      id: row.id,
      ...contact,
      note: null,
      published: false,
      record_deleted: false,
      updated_at: null,
    });
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const stored = await raw(driver, row.id);
    expect(stored['dirty_flag']).toBe('insert');
    const meta = stored.sync_metadata as Record<string, { t: number; c: string; d?: 1 }>;
    expect(Object.keys(meta).sort()).toEqual(
      ['name', 'note', 'owner_id', 'phone_number', 'published', 'record_deleted'].sort(),
    );
    const times = new Set(Object.values(meta).map((m) => m.t));
    expect(times.size).toBe(1);
    expect(Object.values(meta).every((m) => m.d === 1 && m.c === 'dev-a')).toBe(true);
  });

  test('update marks only the supplied columns dirty; null is a value; insert stays insert', async () => {
    const { client, driver } = await phoneBook();
    const row = await client.insertPhoneBook({ ...contact, note: 'x' });
    // Pretend the insert was acknowledged: clean metadata, flag cleared.
    const before = await raw(driver, row.id);
    const clean = Object.fromEntries(
      Object.entries(before.sync_metadata as Record<string, { t: number; c: string }>).map(
        ([k, v]) => [k, { t: v.t, c: v.c }],
      ),
    );
    await driver.execute(
      'UPDATE phone_books SET sync_metadata = ?, dirty_flag = NULL WHERE id = ?',
      [JSON.stringify(clean), row.id],
    );
    const updated = await client.updatePhoneBook(row.id, { note: null, phone_number: undefined });
    expect(updated.note).toBeNull();
    const after = await raw(driver, row.id);
    expect(after['dirty_flag']).toBe('update');
    const meta = after.sync_metadata as Record<string, { t: number; d?: 1 }>;
    expect(Object.keys(meta).filter((k) => meta[k]?.d === 1)).toEqual(['note']);
    expect(meta['note']!.t).toBeGreaterThan(meta['name']!.t);

    const fresh = await client.insertPhoneBook(contact);
    await client.updatePhoneBook(fresh.id, { name: 'Bea' });
    expect((await raw(driver, fresh.id))['dirty_flag']).toBe('insert');
  });

  test('delete sets the flag; active hides the row; later writes to it are clear errors', async () => {
    const { client, driver } = await phoneBook();
    const a = await client.insertPhoneBook(contact);
    const b = await client.insertPhoneBook({ ...contact, name: 'Bob' });
    await client.deletePhoneBook(a.id);
    const active = await client.activePhoneBooks().execute();
    expect(active.map((r) => r.id)).toEqual([b.id]);
    expect(active[0]!.published).toBe(false);
    expect(active[0]!.record_deleted).toBe(false);
    const stored = await raw(driver, a.id);
    expect(stored['record_deleted']).toBe(1);
    expect(stored.sync_metadata['record_deleted']?.d).toBe(1);

    const snapshot = await raw(driver, a.id);
    await expect(client.updatePhoneBook(a.id, { name: 'x' })).rejects.toMatchObject({
      code: 'deleted_row',
    });
    await expect(client.deletePhoneBook(a.id)).rejects.toMatchObject({ code: 'deleted_row' });
    await expect(client.updatePhoneBook('nope', { name: 'x' })).rejects.toMatchObject({
      code: 'unknown_row',
      message: expect.stringContaining('phone_book nope'),
    });
    await expect(client.deletePhoneBook('nope')).rejects.toBeInstanceOf(CarburetorClientError);
    expect(await raw(driver, a.id)).toEqual(snapshot);
  });

  test('a value failing its validator or type is refused before anything is written', async () => {
    const { client, driver } = await phoneBook();
    await expect(client.insertPhoneBook({ ...contact, name: '' })).rejects.toMatchObject({
      code: 'invalid_value',
      table: 'phone_book',
      column: 'name',
      message: expect.stringContaining('a contact needs a name'),
    });
    const row = await client.insertPhoneBook(contact);
    const before = await raw(driver, row.id);
    await expect(client.updatePhoneBook(row.id, { name: '' })).rejects.toMatchObject({
      code: 'invalid_value',
    });
    await expect(
      client.updatePhoneBook(row.id, { phone_number: 5 as unknown as string }),
    ).rejects.toMatchObject({ code: 'invalid_value', column: 'phone_number' });
    await expect(client.updatePhoneBook(row.id, { owner_id: 'u2' } as never)).rejects.toMatchObject(
      { code: 'invalid_value', column: 'owner_id' },
    );
    await expect(client.insertPhoneBook({ ...contact, nmae: 'x' } as never)).rejects.toMatchObject({
      code: 'invalid_value',
      column: 'nmae',
    });
    await expect(client.insertPhoneBook({ ...contact, id: row.id })).rejects.toMatchObject({
      code: 'duplicate_id',
    });
    for (const id of ['', 'a\u0000b', '\uD800', 'x'.repeat(256)]) {
      await expect(client.insertPhoneBook({ ...contact, id })).rejects.toMatchObject({
        code: 'invalid_value',
        column: 'id',
      });
    }
    expect(await raw(driver, row.id)).toEqual(before);
    expect((await driver.execute('SELECT count(*) AS n FROM phone_books')).rows[0]!['n']).toBe(1);
  });

  test('a transaction takes one write time and is all or nothing', async () => {
    const { client, driver } = await phoneBook();
    const ids = await client.transaction(async (tx) => {
      const a = await tx.insertPhoneBook(contact);
      const b = await tx.insertPhoneBook({ ...contact, name: 'Bob' });
      await tx.updatePhoneBook(a.id, { note: 'n' });
      return [a.id, b.id];
    });
    const times = new Set<number>();
    for (const id of ids) {
      for (const m of Object.values(
        (await raw(driver, id)).sync_metadata as Record<string, { t: number }>,
      )) {
        times.add(m.t);
      }
    }
    expect(times.size).toBe(1);

    await expect(
      client.transaction(async (tx) => {
        await tx.insertPhoneBook({ ...contact, name: 'Cy' });
        await tx.updatePhoneBook(ids[0]!, { name: '' });
      }),
    ).rejects.toMatchObject({ code: 'invalid_value' });
    expect((await client.activePhoneBooks().execute()).map((r) => r.name).sort()).toEqual([
      'Ada',
      'Bob',
    ]);
  });

  test('reads come back in the app types through client.db', async () => {
    const driver = memoryDriver();
    drivers.push(driver);
    const client = await createSyncClient(kindsConfig, { driver, url: NOWHERE, groups: ['items'] });
    const inserted = await client.insertItem({
      label: 'a',
      done: true,
      count: 3,
      views: '9007199254740993',
      data: { tags: ['x'] },
      blob: new Uint8Array([1, 2, 3]),
      due: '2026-01-02T03:04:05.5+01:00',
    });
    expect(inserted.due).toBe('2026-01-02T02:04:05.500000Z');
    const rows = await client.activeItems().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      label: 'a',
      done: true,
      count: 3,
      views: '9007199254740993',
      data: { tags: ['x'] },
      blob: new Uint8Array([1, 2, 3]),
      due: '2026-01-02T02:04:05.500000Z',
      is_deleted: false,
      dirty_flag: 'insert',
    });
    const joined = await client.db
      .selectFrom('items')
      .select(['done', 'views', 'done as raw_done'])
      .executeTakeFirstOrThrow();
    expect(joined).toEqual({ done: true, views: '9007199254740993', raw_done: 1 });
    expect(await client.activeItems().where('done', '=', true).execute()).toHaveLength(1);
    expect(await client.activeItems().where('done', 'in', [false]).execute()).toHaveLength(0);
    const small = await client.insertItem({ label: 'b' });
    expect(small).toMatchObject({ done: false, views: '0', count: null, data: null });
    await client.close();
  });

  test('a replica reopened after a crash keeps committed writes, its client id and its clock', async () => {
    const name = `reopen-${Math.random()}`;
    const driver = memoryDriver({ name });
    const client = await createSyncClient(phoneBookConfig, {
      driver,
      url: NOWHERE,
      groups: ['private_contacts'],
    });
    const row = await client.insertPhoneBook(contact);
    const t = (await raw(driver, row.id)).sync_metadata['name']!.t;
    driver.crash();
    const again = memoryDriver({ name });
    drivers.push(again);
    const reopened = await createSyncClient(phoneBookConfig, {
      driver: again,
      url: NOWHERE,
      groups: ['private_contacts'],
      now: () => 0, // a wall clock gone back: stamps still move forward
    });
    expect(reopened.clientId).toBe(client.clientId);
    const updated = await reopened.updatePhoneBook(row.id, { name: 'Bea' });
    expect(updated.name).toBe('Bea');
    expect((await raw(again, row.id)).sync_metadata['name']!.t).toBeGreaterThan(t);
  });

  test('options are checked', async () => {
    const driver = memoryDriver();
    drivers.push(driver);
    await expect(
      createSyncClient(phoneBookConfig, { driver, url: NOWHERE, groups: ['nope' as never] }),
    ).rejects.toMatchObject({ code: 'invalid_options', message: expect.stringContaining('nope') });
    await expect(
      createSyncClient(phoneBookConfig, { driver, url: NOWHERE, groups: [] }),
    ).rejects.toMatchObject({ code: 'invalid_options' });
    await expect(
      createSyncClient(phoneBookConfig, {
        driver,
        url: NOWHERE,
        groups: ['directory'],
        clientId: 'Bad Id',
      }),
    ).rejects.toMatchObject({ code: 'invalid_options' });
    // The server refuses it on every request: the client refuses it at once.
    await expect(
      createSyncClient(phoneBookConfig, {
        driver,
        url: NOWHERE,
        groups: ['directory'],
        clientId: 'server',
      }),
    ).rejects.toMatchObject({
      code: 'invalid_options',
      message: expect.stringContaining('server'),
    });
  });
});
