import { boolean, defineSyncConfig, jsonb, table, text, timestamptz } from '@carburetor/core';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { memoryDriver } from '../node/index.ts';
import { FaultyNetwork, openFaultyClient } from './fault-fetch.ts';
import { datedConfig } from './fixtures.ts';
import { localRow, startSyncServer } from './sync-harness.ts';

// sync-semantics.md §3, last bullet, and §6: one bad row never blocks the
// others. A row the client cannot read, encode, decode or get the server to
// take is quarantined (listed by rejected(), left out of uploads, counted in
// status), the rest of the queue and every group's download go on, and
// discard(id) repairs it.

const phone = await startSyncServer('client-quarantine');
const dated = await startSyncServer('client-quarantine-dated', datedConfig);
afterAll(async () => {
  await phone.stop();
  await dated.stop();
});

let counter = 0;
const unique = (label: string) => `q-${label}-${++counter}`;
const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });

async function serverIds(db: typeof phone.db, tableName: string): Promise<string[]> {
  const { rows } = await sql<{
    id: string;
  }>`select id from ${sql.table(tableName)} order by id`.execute(db);
  return rows.map((r) => r.id);
}

describe('a replica row damaged behind the client', () => {
  test('corrupted metadata: the other rows upload, the row is listed as corrupt_local_row, discard brings the server version back', async () => {
    const user = unique('user');
    const a = await phone.client(user, { groups: ['private_contacts', 'directory'] });
    const synced = await a.sync.insertPhoneBook(contact(user, 'synced'));
    await a.sync.sync();
    const before = await a.sync.insertPhoneBook(contact(user, 'before'));
    await a.sync.updatePhoneBook(synced.id, { name: 'edited locally' });
    const fresh = await a.sync.insertPhoneBook(contact(user, 'fresh'));
    const after = await a.sync.insertPhoneBook(contact(user, 'after'));
    expect(a.sync.status.pendingCount).toBe(4);
    await a.driver.execute(`UPDATE phone_books SET sync_metadata = '{"name":' WHERE id IN (?, ?)`, [
      synced.id,
      fresh.id,
    ]);
    // A directory entry of another user, for the download that follows.
    const otherUser = unique('other');
    const other = await phone.client(otherUser);
    await other.sync.insertPhoneBook({ ...contact(otherUser, 'shared'), published: true });
    await other.sync.sync();

    await a.sync.sync();
    const onServer = await phone.serverRow(before.id);
    expect(onServer?.['name']).toBe('before');
    expect((await phone.serverRow(after.id))?.['name']).toBe('after');
    expect(await phone.serverRow(fresh.id)).toBeUndefined();
    expect((await phone.serverRow(synced.id))?.['name']).toBe('synced');
    const rejected = await a.sync.rejected();
    expect(rejected.map((r) => [r.id, r.code]).sort()).toEqual(
      [
        [synced.id, 'corrupt_local_row'],
        [fresh.id, 'corrupt_local_row'],
      ].sort(),
    );
    expect(rejected[0]!.message).toMatch(/not valid JSON.*discard/);
    expect(a.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 2, lastError: null });
    const names = (await a.sync.activePhoneBooks().execute()).map((r) => r.name);
    expect(names).toContain('shared');
    // A local write to it says what is wrong and what to do.
    await expect(a.sync.updatePhoneBook(synced.id, { note: 'x' })).rejects.toMatchObject({
      code: 'corrupt_row',
      message: expect.stringContaining('discard'),
    });

    await a.sync.discard(synced.id);
    await a.sync.discard(fresh.id);
    expect(a.sync.status.rejectedCount).toBe(0);
    await a.sync.sync();
    expect(await a.sync.rejected()).toEqual([]);
    expect((await localRow(a.driver, synced.id))?.['name']).toBe('synced');
    expect(await localRow(a.driver, fresh.id)).toBeUndefined();
    expect(a.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 0 });
  });

  test('a clean damaged row that no sync has read: local writes name discard, and discard takes it', async () => {
    const user = unique('user');
    const a = await phone.client(user);
    const row = await a.sync.insertPhoneBook(contact(user, 'clean'));
    await a.sync.sync();
    await a.driver.execute(`UPDATE phone_books SET sync_metadata = '[1]' WHERE id = ?`, [row.id]);
    await expect(a.sync.deletePhoneBook(row.id)).rejects.toMatchObject({ code: 'corrupt_row' });
    await expect(a.sync.discard('no-such-row')).rejects.toMatchObject({ code: 'not_rejected' });
    await a.sync.discard(row.id);
    await a.sync.sync();
    expect((await localRow(a.driver, row.id))?.['name']).toBe('clean');
    await a.sync.deletePhoneBook(row.id);
  });

  test('a value outside its column (a boolean holding text, date 0000-01-01) in a dirty row: quarantined locally, the rest goes on', async () => {
    const user = unique('user');
    const a = await phone.client(user);
    const good = await a.sync.insertPhoneBook(contact(user, 'good'));
    // (A NUL in text cannot be planted this way: SQLite hands text back up to its first NUL.)
    const unreadable = await a.sync.insertPhoneBook(contact(user, 'not a boolean'));
    await a.driver.execute(`UPDATE phone_books SET published = 'maybe' WHERE id = ?`, [
      unreadable.id,
    ]);
    const e = await dated.client(unique('user'), { groups: ['events', 'memos'] });
    const ok = await e.sync.insertEvent({
      title: 'ok',
      day: '2026-01-02',
      at: '2026-01-02T03:04:05Z',
    });
    const yearZero = await e.sync.insertEvent({
      title: 'year zero',
      day: '2026-01-02',
      at: '2026-01-02T03:04:05Z',
    });
    await e.driver.execute(`UPDATE events SET day = '0000-01-01' WHERE id = ?`, [yearZero.id]);
    const memo = await e.sync.insertMemo({ body: 'later group' });

    await a.sync.sync();
    await e.sync.sync();
    expect((await phone.serverRow(good.id))?.['name']).toBe('good');
    expect(await phone.serverRow(unreadable.id)).toBeUndefined();
    expect(await a.sync.rejected()).toEqual([
      {
        table: 'phone_book',
        id: unreadable.id,
        code: 'corrupt_local_row',
        message: expect.stringMatching(/maybe.*boolean/),
      },
    ]);
    expect(a.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 1 });
    expect(await serverIds(dated.db, 'events')).toContain(ok.id);
    expect(await serverIds(dated.db, 'events')).not.toContain(yearZero.id);
    expect(await serverIds(dated.db, 'memos')).toContain(memo.id);
    expect(await e.sync.rejected()).toEqual([
      {
        table: 'event',
        id: yearZero.id,
        code: 'corrupt_local_row',
        message: expect.stringMatching(/day.*0001-9999/),
      },
    ]);
    expect(e.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 1 });

    // Never on the server: discard drops it for good.
    await a.sync.discard(unreadable.id);
    await e.sync.discard(yearZero.id);
    await a.sync.sync();
    await e.sync.sync();
    expect(await localRow(a.driver, unreadable.id)).toBeUndefined();
    expect(await a.sync.rejected()).toEqual([]);
    expect(await e.sync.rejected()).toEqual([]);
    expect(e.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 0 });
  });
});

describe('a server row the client cannot decode (an outside write)', () => {
  test('the page applies without it, the cursor moves on, later groups download; once fixed on the server it arrives and its entry clears', async () => {
    const writer = await dated.client(unique('writer'), { groups: ['events', 'memos'] });
    const day = '2026-03-01';
    const at = '2026-03-01T10:00:00.000000Z';
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await writer.sync.insertEvent({ title: `e${i}`, day, at })).id);
    const memo = await writer.sync.insertMemo({ body: 'memo' });
    await writer.sync.sync();
    // A reader that already holds the rows, and one that never saw them.
    const holder = await dated.client(unique('holder'), {
      groups: ['events', 'memos'],
      pageSize: 2,
    });
    await holder.sync.sync();
    const [bc, infinite, minusInfinite] = [ids[1]!, ids[3]!, ids[4]!];
    await sql`update events set day = '0044-03-15 BC', title = 'bc' where id = ${bc}`.execute(
      dated.db,
    );
    await sql`update events set at = 'infinity' where id = ${infinite}`.execute(dated.db);
    await sql`update events set day = '-infinity' where id = ${minusInfinite}`.execute(dated.db);
    await sql`update events set title = 'renamed' where id = ${ids[5]!}`.execute(dated.db);
    await writer.sync.insertMemo({ body: 'memo 2' });
    await writer.sync.sync();

    const fresh = await dated.client(unique('fresh'), { groups: ['events', 'memos'], pageSize: 2 });
    for (const reader of [fresh, holder]) {
      await reader.sync.sync();
      expect(reader.sync.status.lastError).toBeNull();
      const rejected = await reader.sync.rejected();
      expect(rejected.map((r) => [r.id, r.code]).sort()).toEqual(
        [
          [bc, 'undecodable_download'],
          [infinite, 'undecodable_download'],
          [minusInfinite, 'undecodable_download'],
        ].sort(),
      );
      expect(rejected.find((r) => r.id === bc)?.message).toMatch(/day/);
      expect(reader.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 3 });
      const local = await reader.sync.activeEvents().orderBy('id').execute();
      expect(local.find((r) => r.id === ids[5])?.title).toBe('renamed');
      const memos = (await reader.sync.activeMemos().execute()).map((m) => m.body);
      expect(memos).toEqual(expect.arrayContaining(['memo', 'memo 2']));
      // Synced again: nothing new, the entries stay, nothing stalls.
      await reader.sync.sync();
      expect(reader.sync.status).toMatchObject({ lastError: null, rejectedCount: 3 });
    }
    const mine = (rows: { id: string }[]) =>
      rows
        .map((r) => r.id)
        .filter((id) => ids.includes(id))
        .sort();
    expect(mine(await fresh.sync.activeEvents().execute())).toEqual(
      ids.filter((id) => ![bc, infinite, minusInfinite].includes(id)).sort(),
    );
    // The holder keeps its last good copy meanwhile.
    const held = await holder.driver.execute('SELECT title FROM events WHERE id = ?', [bc]);
    expect(held.rows).toEqual([{ title: 'e1' }]);
    void memo;

    await sql`update events set day = '2026-04-01' where id in (${bc}, ${minusInfinite})`.execute(
      dated.db,
    );
    await sql`update events set at = '2026-04-01T00:00:00Z' where id = ${infinite}`.execute(
      dated.db,
    );
    for (const reader of [fresh, holder]) {
      await reader.sync.sync();
      expect(await reader.sync.rejected()).toEqual([]);
      expect(reader.sync.status.rejectedCount).toBe(0);
      const local = await reader.sync.activeEvents().execute();
      expect(mine(local)).toEqual([...ids].sort());
      expect(local.find((r) => r.id === bc)).toMatchObject({ title: 'bc', day: '2026-04-01' });
      expect(local.find((r) => r.id === infinite)?.at).toBe('2026-04-01T00:00:00.000000Z');
    }
  });

  test('discard of an undecodable row downloads its table again: still undecodable, still listed; a dirty local copy waits', async () => {
    const writer = await dated.client(unique('writer'));
    const row = await writer.sync.insertEvent({
      title: 't',
      day: '2026-05-05',
      at: '2026-05-05T00:00:00Z',
    });
    const other = await writer.sync.insertEvent({
      title: 'o',
      day: '2026-05-05',
      at: '2026-05-05T00:00:00Z',
    });
    await writer.sync.sync();
    await writer.sync.updateEvent(row.id, { title: 'local edit' });
    await sql`update events set at = '-infinity' where id = ${row.id}`.execute(dated.db);
    await writer.sync.sync();
    // The upload answer, or the download after it, brings the server's version: set aside,
    // and the local edit waits rather than going up again and again.
    const own = async () =>
      (await writer.sync.rejected()).filter((r) => r.id === row.id || r.id === other.id);
    expect((await own()).map((r) => [r.id, r.code])).toEqual([[row.id, 'undecodable_download']]);
    expect(writer.sync.status).toMatchObject({ pendingCount: 0, lastError: null });
    await writer.sync.discard(row.id);
    await writer.sync.sync();
    expect((await own()).map((r) => r.id)).toEqual([row.id]);
    const kept = await writer.driver.execute('SELECT title FROM events WHERE id = ?', [other.id]);
    expect(kept.rows).toEqual([{ title: 'o' }]);
  });
});

/** The phone book as an older app build saw it: no validator on name, and the directory writable. */
const staleConfig = defineSyncConfig({
  tables: {
    phone_book: table(
      { plural: 'phone_books' },
      {
        id: text().id(),
        owner_id: text().immutable(),
        name: text(),
        phone_number: text(),
        note: text().nullable(),
        published: boolean().default(false),
        record_deleted: boolean().isDeleted(),
        sync_metadata: jsonb().columnSyncMetadata(),
        updated_at: timestamptz().lastSyncedAt(),
      },
    ),
  },
  syncGroups: {
    private_contacts: { phone_book: { restrictTo: { column: 'owner_id', context: 'userId' } } },
    directory: { phone_book: { filter: { published: true } } },
  },
});

/**
 * A client of that build, from before configs had identities: its requests
 * carry none (one that did would be told to retry, as the server never
 * recorded its config), so the server serves it as its own config and
 * refuses, row by row, what its own rules do not allow.
 */
async function staleClient(user: string, groups: ('private_contacts' | 'directory')[]) {
  const withoutIdentity: typeof fetch = (input, init) => {
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    if (body && typeof body === 'object') delete body.config;
    return fetch(input, body ? { ...init, body: JSON.stringify(body) } : init);
  };
  const trpcClient = createTRPCClient<AnyRouter>({
    links: [httpLink({ url: phone.url, headers: { 'x-user': user }, fetch: withoutIdentity })],
  });
  return createSyncClient(staleConfig, {
    driver: memoryDriver(),
    trpcClient,
    groups,
    realtime: false,
  });
}

describe('every refusal the server gives ends in rejected() and stalls nothing', () => {
  test('insufficient_permission, record_not_found, read_only, invalid_value; clock_skew is corrected', async () => {
    const user = unique('user');
    // A wall clock an hour fast: clock_skew answers correct it, nothing is set aside for it.
    const a = await phone.client(user, {
      groups: ['private_contacts', 'directory'],
      now: () => Date.now() + 3_600_000,
    });
    const ok = await a.sync.insertPhoneBook(contact(user, 'ok'));
    const foreign = await a.sync.insertPhoneBook(contact(unique('someone-else'), 'foreign'));
    // An update of a row the server never had (its insert was lost, say).
    const ghost = await a.sync.insertPhoneBook(contact(user, 'ghost'));
    await a.driver.execute(`UPDATE phone_books SET dirty_flag = 'update' WHERE id = ?`, [ghost.id]);
    const publisherUser = unique('publisher');
    const publisher = await phone.client(publisherUser);
    await publisher.sync.insertPhoneBook({ ...contact(publisherUser, 'listed'), published: true });
    await publisher.sync.sync();

    const stale = await staleClient(unique('stale'), ['directory']);
    const readOnly = await stale.insertPhoneBook({ ...contact('s', 'mine'), published: true });
    const staleUser = unique('stale-user');
    const invalid = await staleClient(staleUser, ['private_contacts']);
    const empty = await invalid.insertPhoneBook(contact(staleUser, ''));
    const fine = await invalid.insertPhoneBook(contact(staleUser, 'fine'));

    await a.sync.sync();
    await stale.sync();
    await invalid.sync();
    const codes = async (client: { rejected(): Promise<{ id: string; code: string }[]> }) =>
      (await client.rejected()).map((r) => [r.id, r.code]).sort();
    expect(await codes(a.sync)).toEqual(
      [
        [foreign.id, 'insufficient_permission'],
        [ghost.id, 'record_not_found'],
      ].sort(),
    );
    expect(await codes(stale)).toEqual([[readOnly.id, 'read_only']]);
    expect(await codes(invalid)).toEqual([[empty.id, 'invalid_value']]);
    expect((await phone.serverRow(ok.id))?.['name']).toBe('ok');
    expect((await phone.serverRow(fine.id))?.['name']).toBe('fine');
    expect(a.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 2, lastError: null });
    expect(invalid.status).toMatchObject({ pendingCount: 0, rejectedCount: 1, lastError: null });
    // The later group downloaded: the other user's published entry is here.
    const names = (await a.sync.activePhoneBooks().execute()).map((r) => r.name);
    expect(names).toContain('listed');
    for (const client of [stale, invalid]) await client.close();
  });

  test('a row the server refuses as a whole request (BAD_REQUEST) is found by halving and set aside as upload_refused', async () => {
    const user = unique('user');
    const a = await phone.client(user);
    const rows = [];
    for (let i = 0; i < 9; i++) rows.push(await a.sync.insertPhoneBook(contact(user, `row ${i}`)));
    // An id longer than the protocol allows, written behind the API.
    const long = 'x'.repeat(300);
    await a.driver.execute(`UPDATE phone_books SET id = ? WHERE id = ?`, [long, rows[4]!.id]);
    const uploadsBefore = a.gates.calls.upload;
    await a.sync.sync();
    expect(await a.sync.rejected()).toEqual([
      {
        table: 'phone_book',
        id: long,
        code: 'upload_refused',
        message: expect.stringContaining('BAD_REQUEST'),
      },
    ]);
    for (const [i, row] of rows.entries()) {
      if (i !== 4) expect((await phone.serverRow(row.id))?.['name']).toBe(`row ${i}`);
    }
    expect(a.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 1, lastError: null });
    // Halving 9 rows down to the one: a handful of requests, not one per row.
    expect(a.gates.calls.upload - uploadsBefore).toBeLessThanOrEqual(9);
    await a.sync.discard(long);
    await a.sync.sync();
    expect(await a.sync.rejected()).toEqual([]);
  });
});

describe('what is not a row problem is never blamed on a row', () => {
  test('a lost request: nothing is set aside, the rows stay pending and go up with the next sync', async () => {
    const network = new FaultyNetwork();
    const user = unique('user');
    const { sync } = await openFaultyClient({
      url: phone.url,
      user,
      groups: ['private_contacts'],
      store: unique('store'),
      network,
    });
    const first = await sync.insertPhoneBook(contact(user, 'first'));
    const second = await sync.insertPhoneBook(contact(user, 'second'));
    network.dropNext('upload-request');
    await expect(sync.sync()).rejects.toMatchObject({ code: 'sync_failed' });
    expect(await sync.rejected()).toEqual([]);
    expect(sync.status).toMatchObject({ pendingCount: 2, rejectedCount: 0 });
    await sync.sync();
    expect((await phone.serverRow(first.id))?.['name']).toBe('first');
    expect((await phone.serverRow(second.id))?.['name']).toBe('second');
    expect(sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 0, lastError: null });
    await sync.close();
  });

  /** Installs a trigger on the server's table that raises `errcode` for a row named 'boom'. */
  async function refuseBoom(errcode: string) {
    await sql`create or replace function quarantine_test_refuse() returns trigger language plpgsql as $$
      begin
        if new.name = 'boom' then raise exception using errcode = ${sql.lit(errcode)}, message = 'the app refuses boom'; end if;
        return new;
      end $$`.execute(phone.db);
    await sql`create trigger quarantine_test_refuse before insert or update on phone_books
      for each row execute function quarantine_test_refuse()`.execute(phone.db);
    return async () => {
      await sql`drop trigger if exists quarantine_test_refuse on phone_books`.execute(phone.db);
      await sql`drop function if exists quarantine_test_refuse()`.execute(phone.db);
    };
  }

  test('a row the database itself refuses is answered invalid_value alone; the others apply and later groups download', async () => {
    const publisherUser = unique('publisher');
    const publisher = await phone.client(publisherUser);
    await publisher.sync.insertPhoneBook({ ...contact(publisherUser, 'listed'), published: true });
    await publisher.sync.sync();
    const undo = await refuseBoom('P0001');
    try {
      const user = unique('user');
      const a = await phone.client(user, { groups: ['private_contacts', 'directory'] });
      const boom = await a.sync.insertPhoneBook(contact(user, 'boom'));
      const good = await a.sync.insertPhoneBook(contact(user, 'good'));
      await a.sync.sync();
      const names = (await a.sync.activePhoneBooks().execute()).map((r) => r.name);
      expect(names).toContain('listed');
      const rejected = await a.sync.rejected();
      expect(rejected.map((r) => [r.id, r.code])).toEqual([[boom.id, 'invalid_value']]);
      expect(rejected[0]?.message).toContain('the app refuses boom');
      expect((await phone.serverRow(good.id))?.['name']).toBe('good');
      expect(await phone.serverRow(boom.id)).toBeUndefined();
      expect(a.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 1 });
    } finally {
      await undo();
    }
  });

  test('a server failure (5xx) sets no row aside: the queue waits and goes through once the server works', async () => {
    // A serialization failure is not the row's fault: the server answers 500 with an error id.
    const undo = await refuseBoom('40001');
    try {
      const user = unique('user');
      const a = await phone.client(user);
      const boom = await a.sync.insertPhoneBook(contact(user, 'boom'));
      await a.sync.insertPhoneBook(contact(user, 'good'));
      const failure = await a.sync.sync().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ code: 'sync_failed' });
      expect(await a.sync.rejected()).toEqual([]);
      expect(a.sync.status).toMatchObject({ pendingCount: 2, rejectedCount: 0 });
      expect(a.sync.status.lastError).not.toBeNull();
      await undo();
      await a.sync.sync();
      expect((await phone.serverRow(boom.id))?.['name']).toBe('boom');
      expect(a.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 0, lastError: null });
    } finally {
      await undo();
    }
  });
});
