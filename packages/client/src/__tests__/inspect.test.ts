import { afterAll, describe, expect, test } from 'vitest';
import type { SyncActivity } from '../inspect/sync-activity.ts';
import { startSyncServer } from './sync-harness.ts';

// What an inspector reads through the client's public API (issue 26): the
// upload queue with dirty columns and write times, the cursors, the log of
// sync requests, and a query box that cannot write.

const harness = await startSyncServer('client-inspect');
afterAll(() => harness.stop());

let counter = 0;
const unique = (label: string) => `inspect-${label}-${++counter}`;
const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });

describe('pending()', () => {
  test('lists each unacknowledged row with its op, dirty columns and their write times; empty after sync; rejected rows left out', async () => {
    const user = unique('user');
    const a = await harness.client(user, { realtime: false });
    expect(await a.sync.pending()).toEqual([]);

    const synced = await a.sync.insertPhoneBook(contact(user, 'synced'));
    await a.sync.sync();
    const started = Date.now();
    await a.sync.updatePhoneBook(synced.id, { note: 'edited' });
    const fresh = await a.sync.insertPhoneBook(contact(user, 'fresh'));
    const ended = Date.now();

    const pending = await a.sync.pending();
    expect(pending.map(({ table, id, op }) => ({ table, id, op }))).toEqual([
      { table: 'phone_book', id: synced.id, op: 'update' },
      { table: 'phone_book', id: fresh.id, op: 'insert' },
    ]);
    expect(pending[0]?.columns.map((c) => c.name)).toEqual(['note']);
    expect(pending[1]?.columns.map((c) => c.name).sort()).toEqual(
      ['name', 'note', 'owner_id', 'phone_number', 'published', 'record_deleted'].sort(),
    );
    // Write times are the client's clock (kept within a second of the server's here).
    for (const column of pending.flatMap((row) => row.columns)) {
      const at = Date.parse(column.writtenAt);
      expect(at).toBeGreaterThanOrEqual(started - 1_000);
      expect(at).toBeLessThanOrEqual(ended + 1_000);
    }
    expect(a.sync.status.pendingCount).toBe(2);

    const forged = await a.sync.insertPhoneBook(contact(unique('other'), 'forged'));
    await a.sync.sync();
    expect((await a.sync.rejected()).map((r) => r.id)).toEqual([forged.id]);
    expect(await a.sync.pending()).toEqual([]);
  });
});

describe('cursors()', () => {
  test('one per (group, table): null before the first download, the server cursor after it', async () => {
    const user = unique('user');
    const a = await harness.client(user, {
      groups: ['private_contacts', 'directory'],
      realtime: false,
    });
    const before = await a.sync.cursors();
    expect(before.map(({ group, table }) => `${group}/${table}`)).toEqual([
      'private_contacts/phone_book',
      'private_contacts/note',
      'directory/phone_book',
    ]);
    expect(before.every((c) => c.cursor === null && !c.resetting)).toBe(true);
    await a.sync.sync();
    const after = await a.sync.cursors();
    expect(after.every((c) => typeof c.cursor === 'string' && c.cursor.length > 0)).toBe(true);
    expect(after.some((c) => c.resetting)).toBe(false);
  });
});

describe('recentActivity() and onActivity()', () => {
  test('each request: kind, group, rows, bytes while listened, per-table pages, and the error of one that failed', async () => {
    const user = unique('user');
    const server = await harness.instance();
    const a = await harness.client(user, { server, realtime: false, requestTimeoutMs: 2_000 });
    const heard: SyncActivity[] = [];
    const stop = a.sync.onActivity((activity) => heard.push(activity));
    await a.sync.insertPhoneBook(contact(user, 'one'));
    await a.sync.insertPhoneBook(contact(user, 'two'));
    await a.sync.sync();

    const upload = heard.find((entry) => entry.kind === 'upload');
    expect(upload).toMatchObject({ group: 'private_contacts', rows: 2, error: null });
    expect(upload?.bytes?.sent).toBeGreaterThan(100);
    expect(upload?.bytes?.received).toBeGreaterThan(50);
    const download = heard.find((entry) => entry.kind === 'download');
    expect(download).toMatchObject({ group: 'private_contacts', error: null });
    expect(download?.tables['phone_book']).toMatchObject({ hasMore: false, reset: false });
    expect(download?.tables['phone_book']?.rows).toBe(2);
    expect(download?.durationMs).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(download?.at ?? ''))).toBe(false);
    expect(a.sync.recentActivity()).toEqual(heard);

    stop();
    await server.down();
    await a.sync.insertPhoneBook(contact(user, 'three'));
    await expect(a.sync.sync()).rejects.toMatchObject({ code: 'sync_failed' });
    const failed = a.sync.recentActivity().at(-1);
    expect(failed).toMatchObject({ kind: 'upload', rows: 1, bytes: null });
    expect(failed?.error).toMatch(/upload of sync group "private_contacts" failed/);
    expect(heard).toHaveLength(a.sync.recentActivity().length - 1); // not heard after stop()
    await server.up();
  });
});

describe('queryReadOnly()', () => {
  test('runs a SELECT over the replica tables', async () => {
    const user = unique('user');
    const a = await harness.client(user, { realtime: false });
    await a.sync.insertPhoneBook(contact(user, 'Ada'));
    await a.sync.insertPhoneBook(contact(user, 'Bea'));
    const result = await a.sync.queryReadOnly(
      'select name from phone_books where owner_id = ? order by name;',
      [user],
    );
    expect(result).toEqual({
      columns: ['name'],
      rows: [{ name: 'Ada' }, { name: 'Bea' }],
      truncated: false,
    });
    const counted = await a.sync.queryReadOnly(
      'with n as (select count(*) as c from phone_books) select c from n -- a comment',
    );
    expect(counted.rows).toEqual([{ c: 2 }]);
  });

  test('refuses every write, second statement and pragma with invalid_query, and changes nothing', async () => {
    const user = unique('user');
    const a = await harness.client(user, { realtime: false });
    const row = await a.sync.insertPhoneBook(contact(user, 'kept'));
    const attempts = [
      'delete from phone_books',
      "update phone_books set name = 'x'",
      "insert into _carburetor_state (key, value) values ('k', 'v')",
      'select 1; delete from phone_books',
      'select 1); delete from phone_books; select (1',
      'pragma query_only = 0',
      'drop table phone_books',
      'with gone as (delete from phone_books returning id) select * from gone',
      '',
    ];
    for (const attempt of attempts) {
      await expect(a.sync.queryReadOnly(attempt), attempt).rejects.toMatchObject({
        name: 'CarburetorClientError',
        code: 'invalid_query',
      });
    }
    const rows = await a.sync.activePhoneBooks().execute();
    expect(rows.map((r) => [r.id, r.name])).toEqual([[row.id, 'kept']]);
    // The connection is writable again for the app's own writes.
    await a.sync.updatePhoneBook(row.id, { name: 'still writable' });
    expect((await a.sync.activePhoneBooks().execute())[0]?.name).toBe('still writable');
  });

  test('returns at most 1,000 rows and says it truncated', async () => {
    const a = await harness.client(unique('user'), { realtime: false });
    const result = await a.sync.queryReadOnly(
      'with recursive n(i) as (select 1 union all select i + 1 from n where i < 1500) select i from n',
    );
    expect(result.rows).toHaveLength(1_000);
    expect(result.truncated).toBe(true);
  });
});
