import { MAX_UPLOAD_ROWS } from '@carburetor/core';
import { afterAll, describe, expect, test } from 'vitest';
import { dirtyOf, localRow, startSyncServer } from './sync-harness.ts';

const harness = await startSyncServer('client-sync');
afterAll(() => harness.stop());

const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });
// Clocks learn the server's offset to within half a round trip: writes meant
// to be ordered across devices are spaced well beyond that.
const tick = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sync with a real server over HTTP', () => {
  test('a row goes up, comes down to another device, and both end clean', async () => {
    const a = await harness.client('u1');
    const b = await harness.client('u1');
    const row = await a.sync.insertPhoneBook({ ...contact('u1', 'Ada'), note: null });
    await a.sync.sync();
    const mine = await localRow(a.driver, row.id);
    expect(mine?.['dirty_flag']).toBeNull();
    expect(dirtyOf(mine)).toEqual([]);
    expect(mine?.['updated_at']).toMatch(/Z$/);
    await b.sync.sync();
    const theirs = await b.sync.activePhoneBooks().where('id', '=', row.id).executeTakeFirst();
    expect(theirs).toMatchObject({
      ...contact('u1', 'Ada'),
      note: null,
      published: false,
      dirty_flag: null,
    });
    expect((await harness.serverRow(row.id))?.['name']).toBe('Ada');
    // A second sync is a no-op that sends nothing up; a call during a sync joins it.
    const uploads = a.gates.calls.upload;
    const first = a.sync.sync();
    expect(a.sync.sync()).toBe(first);
    await first;
    expect(a.gates.calls.upload).toBe(uploads);
  });

  test('a column edited while its upload is in flight keeps its value and stays dirty', async () => {
    const a = await harness.client('u1');
    const row = await a.sync.insertPhoneBook(contact('u1', 'v0'));
    await a.sync.sync();
    await a.sync.updatePhoneBook(row.id, { name: 'v1', note: 'n1' });
    const reached = a.gates.beforeUpload.arm();
    const syncing = a.sync.sync();
    await reached; // the request holds v1 and its write times
    await a.sync.updatePhoneBook(row.id, { name: 'v2' });
    a.gates.beforeUpload.release();
    await syncing;
    const after = await localRow(a.driver, row.id);
    expect(after?.['name']).toBe('v2');
    expect(after?.['note']).toBe('n1');
    expect(dirtyOf(after)).toEqual(['name']);
    expect(after?.['dirty_flag']).toBe('update');
    expect((await harness.serverRow(row.id))?.['name']).toBe('v1');
    await a.sync.sync();
    expect(dirtyOf(await localRow(a.driver, row.id))).toEqual([]);
    expect((await harness.serverRow(row.id))?.['name']).toBe('v2');
  });

  test('a download landing between upload and acknowledgement does not undo the local value', async () => {
    const a = await harness.client('u1');
    const b = await harness.client('u1');
    const row = await a.sync.insertPhoneBook(contact('u1', 'start'));
    await a.sync.sync();
    await b.sync.sync();
    await b.sync.updatePhoneBook(row.id, { name: 'theirs' });
    await tick();
    await a.sync.updatePhoneBook(row.id, { name: 'mine' });
    await b.sync.sync();

    const reached = a.gates.beforeUpload.arm();
    const uploading = a.internals.upload('private_contacts');
    await reached;
    await a.internals.download('private_contacts'); // brings b's older 'theirs'
    const between = await localRow(a.driver, row.id);
    expect(between?.['name']).toBe('mine');
    expect(dirtyOf(between)).toEqual(['name']);
    a.gates.beforeUpload.release();
    await uploading;
    const acked = await localRow(a.driver, row.id);
    expect(acked?.['name']).toBe('mine');
    expect(dirtyOf(acked)).toEqual([]);
    expect(acked?.['dirty_flag']).toBeNull();

    // The same with the page computed after the server applied the upload but
    // delivered before its answer: the stamps are equal, the value stays.
    await a.sync.updatePhoneBook(row.id, { name: 'mine again' });
    const answered = a.gates.afterUpload.arm();
    const second = a.internals.upload('private_contacts');
    await answered;
    await a.internals.download('private_contacts');
    a.gates.afterUpload.release();
    await second;
    const settled = await localRow(a.driver, row.id);
    expect(settled?.['name']).toBe('mine again');
    expect(dirtyOf(settled)).toEqual([]);
  });

  test('a local delete survives a download that arrives before its upload', async () => {
    const a = await harness.client('u1');
    const b = await harness.client('u1');
    const row = await a.sync.insertPhoneBook(contact('u1', 'doomed'));
    await a.sync.sync();
    await b.sync.sync();
    await a.sync.deletePhoneBook(row.id);
    await b.sync.updatePhoneBook(row.id, { note: 'edited meanwhile' });
    await b.sync.sync();
    await a.internals.download('private_contacts');
    const local = await localRow(a.driver, row.id);
    expect(local?.['record_deleted']).toBe(1);
    expect(local?.['note']).toBe('edited meanwhile');
    expect(await a.sync.activePhoneBooks().where('id', '=', row.id).execute()).toEqual([]);
    await a.sync.sync();
    await b.sync.sync();
    expect((await harness.serverRow(row.id))?.['record_deleted']).toBe(true);
    expect(await b.sync.activePhoneBooks().where('id', '=', row.id).execute()).toEqual([]);
  });

  test('a newer change by another client after my acknowledged upload reaches me', async () => {
    const a = await harness.client('u1');
    const b = await harness.client('u1');
    const row = await a.sync.insertPhoneBook(contact('u1', 'a0'));
    await a.sync.sync();
    await b.sync.sync();
    await a.sync.updatePhoneBook(row.id, { name: 'a1' });
    await a.sync.sync();
    await b.sync.sync();
    await b.sync.updatePhoneBook(row.id, { name: 'b1' });
    await b.sync.sync();
    await a.sync.sync();
    expect((await localRow(a.driver, row.id))?.['name']).toBe('b1');
  });

  describe('conflicts between two offline devices', () => {
    test('edits of different columns both land everywhere', async () => {
      const a = await harness.client('u1');
      const b = await harness.client('u1');
      const row = await a.sync.insertPhoneBook(contact('u1', 'x'));
      await a.sync.sync();
      await b.sync.sync();
      await a.sync.updatePhoneBook(row.id, { name: 'from a' });
      await b.sync.updatePhoneBook(row.id, { note: 'from b' });
      await a.sync.sync();
      await b.sync.sync();
      await a.sync.sync();
      for (const device of [a, b]) {
        expect(await localRow(device.driver, row.id)).toMatchObject({
          name: 'from a',
          note: 'from b',
        });
      }
      expect(await harness.serverRow(row.id)).toMatchObject({ name: 'from a', note: 'from b' });
    });

    test('edits of one column: the later write wins everywhere, on the loser right after its upload', async () => {
      const a = await harness.client('u1');
      const b = await harness.client('u1');
      const row = await a.sync.insertPhoneBook(contact('u1', 'x'));
      await a.sync.sync();
      await b.sync.sync();
      await a.sync.updatePhoneBook(row.id, { name: 'earlier' });
      await tick();
      await b.sync.updatePhoneBook(row.id, { name: 'later' });
      await b.sync.sync();
      await a.internals.upload('private_contacts');
      const loser = await localRow(a.driver, row.id);
      expect(loser?.['name']).toBe('later');
      expect(dirtyOf(loser)).toEqual([]);
      await a.sync.sync();
      await b.sync.sync();
      expect((await localRow(b.driver, row.id))?.['name']).toBe('later');
      expect((await harness.serverRow(row.id))?.['name']).toBe('later');
    });

    test('a delete against a concurrent update: deleted everywhere', async () => {
      const a = await harness.client('u1');
      const b = await harness.client('u1');
      const row = await a.sync.insertPhoneBook(contact('u1', 'x'));
      await a.sync.sync();
      await b.sync.sync();
      await a.sync.deletePhoneBook(row.id);
      await tick();
      await b.sync.updatePhoneBook(row.id, { name: 'still here?' });
      await a.sync.sync();
      await b.sync.sync();
      await a.sync.sync();
      for (const device of [a, b]) {
        expect((await localRow(device.driver, row.id))?.['record_deleted']).toBe(1);
        expect(dirtyOf(await localRow(device.driver, row.id))).toEqual([]);
      }
      expect((await harness.serverRow(row.id))?.['record_deleted']).toBe(true);
    });
  });

  test('a client whose clock is a day ahead gets clock_skew, corrects itself, and lands sane times', async () => {
    const DAY = 86_400_000;
    const skewed = await harness.client('u1', { now: () => Date.now() + DAY });
    const row = await skewed.sync.insertPhoneBook(contact('u1', 'from the future'));
    expect((await localRow(skewed.driver, row.id))?.meta['name']?.t).toBeGreaterThan(
      (Date.now() + DAY / 2) * 1000,
    );
    await skewed.sync.sync();
    expect(skewed.gates.calls.upload).toBe(2); // refused with clock_skew, re-stamped, sent again
    expect(await skewed.sync.rejected()).toEqual([]);
    const stored = await harness.serverRow(row.id);
    const t = (stored!['sync_metadata'] as Record<string, { t: number }>)['name']!.t;
    expect(Math.abs(t / 1000 - Date.now())).toBeLessThan(60_000);
    expect(dirtyOf(await localRow(skewed.driver, row.id))).toEqual([]);
    // Later writes are stamped near server time from the start.
    await skewed.sync.updatePhoneBook(row.id, { note: 'now' });
    const next = (await localRow(skewed.driver, row.id))?.meta['note']?.t ?? 0;
    expect(Math.abs(next / 1000 - Date.now())).toBeLessThan(60_000);
    const uploads = skewed.gates.calls.upload;
    await skewed.sync.sync();
    expect(skewed.gates.calls.upload).toBe(uploads + 1);
    expect((await harness.serverRow(row.id))?.['note']).toBe('now');
  });

  test('two users see only their rows; a rejected row is listed, not re-sent, and discard restores the server state', async () => {
    const u1 = await harness.client('alice', { groups: ['private_contacts', 'directory'] });
    const u2 = await harness.client('bob', { groups: ['private_contacts', 'directory'] });
    const mine = await u1.sync.insertPhoneBook(contact('alice', 'alice private'));
    const shared = await u1.sync.insertPhoneBook({
      ...contact('alice', 'alice public'),
      published: true,
    });
    const theirs = await u2.sync.insertPhoneBook(contact('bob', 'bob private'));
    await u1.sync.sync();
    await u2.sync.sync();
    await u1.sync.sync();
    const names = async (c: typeof u1) =>
      (await c.sync.activePhoneBooks().orderBy('name').execute()).map((r) => r.name);
    expect(await names(u2)).toContain('alice public');
    expect(await names(u2)).not.toContain('alice private');
    expect(await names(u1)).not.toContain('bob private');
    expect(await names(u1)).toEqual(expect.arrayContaining(['alice private', 'alice public']));

    // u2 edits u1's published contact (written through private_contacts: refused),
    // and inserts a row for another owner (refused); its own row still syncs.
    await u2.sync.updatePhoneBook(shared.id, { name: 'vandalized' });
    const forged = await u2.sync.insertPhoneBook(contact('alice', 'forged'));
    await u2.sync.updatePhoneBook(theirs.id, { note: 'fine' });
    await u2.sync.sync();
    const rejected = await u2.sync.rejected();
    expect(rejected.map((r) => r.id).sort()).toEqual([shared.id, forged.id].sort());
    for (const r of rejected) {
      expect(r.table).toBe('phone_book');
      expect(['insufficient_permission', 'record_not_found']).toContain(r.code);
      expect(r.message.length).toBeGreaterThan(0);
    }
    expect((await harness.serverRow(theirs.id))?.['note']).toBe('fine');
    expect((await harness.serverRow(shared.id))?.['name']).toBe('alice public');
    expect(await harness.serverRow(forged.id)).toBeUndefined();

    const uploads = u2.gates.calls.upload;
    await u2.sync.sync();
    expect(u2.gates.calls.upload).toBe(uploads); // rejected rows are not re-sent
    expect((await u2.sync.rejected()).length).toBe(2);
    expect((await localRow(u2.driver, shared.id))?.['name']).toBe('vandalized');

    await u2.sync.discard(shared.id);
    await u2.sync.discard(forged.id);
    await expect(u2.sync.discard(forged.id)).rejects.toMatchObject({ code: 'not_rejected' });
    await u2.sync.sync();
    expect(await u2.sync.rejected()).toEqual([]);
    const restored = await localRow(u2.driver, shared.id);
    expect(restored?.['name']).toBe('alice public');
    expect(dirtyOf(restored)).toEqual([]);
    expect(await localRow(u2.driver, forged.id)).toBeUndefined();
    expect(await names(u2)).toEqual(['alice public', 'bob private']);

    await u1.sync.sync();
    expect(await names(u1)).toEqual(['alice private', 'alice public']);
    expect((await localRow(u1.driver, mine.id))?.['dirty_flag']).toBeNull();
  });

  test('a row leaving a filtered group goes, unless another group still covers it', async () => {
    const carol = await harness.client('carol', { groups: ['private_contacts', 'directory'] });
    const dave = await harness.client('dave', { groups: ['private_contacts', 'directory'] });
    await dave.sync.insertPhoneBook(contact('dave', 'dave private'));
    const card = await carol.sync.insertPhoneBook({
      ...contact('carol', 'carol card'),
      published: true,
    });
    await carol.sync.sync();
    await dave.sync.sync();
    expect(await localRow(dave.driver, card.id)).toBeDefined();
    await carol.sync.updatePhoneBook(card.id, { published: false });
    await carol.sync.sync();
    await dave.sync.sync();
    expect(await localRow(dave.driver, card.id)).toBeUndefined();
    // Carol's own private group still holds it.
    await carol.sync.sync();
    expect(await localRow(carol.driver, card.id)).toMatchObject({ published: 0, dirty_flag: null });
  });

  test('another user on the same replica gets a reset: the previous rows go', async () => {
    const store = `switch-${Math.random().toString(36).slice(2)}`;
    const erin = await harness.client('erin', { store });
    const hers = await erin.sync.insertPhoneBook(contact('erin', 'erin private'));
    await erin.sync.sync();
    await erin.sync.close();
    const frank = await harness.client('frank', { store });
    const his = await frank.sync.insertPhoneBook(contact('frank', 'frank private'));
    await frank.sync.sync();
    expect(await localRow(frank.driver, hers.id)).toBeUndefined();
    expect(await localRow(frank.driver, his.id)).toMatchObject({ dirty_flag: null });
    expect((await frank.sync.activePhoneBooks().execute()).map((r) => r.owner_id)).toEqual([
      'frank',
    ]);
  });

  test('large queues go up in requests of at most MAX_UPLOAD_ROWS, and come down page by page', async () => {
    const a = await harness.client('grace');
    const total = MAX_UPLOAD_ROWS + 1;
    await a.sync.transaction(async (tx) => {
      for (let i = 0; i < total; i++) await tx.insertPhoneBook(contact('grace', `bulk ${i}`));
    });
    await a.sync.sync();
    expect(a.gates.calls.upload).toBe(2);
    const dirty = await a.driver.execute(
      'SELECT count(*) AS n FROM phone_books WHERE dirty_flag IS NOT NULL',
    );
    expect(dirty.rows[0]!['n']).toBe(0);
    const b = await harness.client('grace', { pageSize: 800 });
    await b.sync.sync();
    expect(b.gates.calls.download).toBe(3);
    expect((await b.sync.activePhoneBooks().execute()).length).toBe(total);
  });

  test('reset wipes the replica and the client keeps working', async () => {
    const a = await harness.client('u1');
    await a.sync.insertPhoneBook(contact('u1', 'kept on the server'));
    await a.sync.sync();
    const before = (await a.sync.activePhoneBooks().execute()).length;
    expect(before).toBeGreaterThan(0);
    await a.sync.reset();
    expect(await a.sync.activePhoneBooks().execute()).toEqual([]);
    await a.sync.sync();
    expect((await a.sync.activePhoneBooks().execute()).length).toBe(before);
  });
});
