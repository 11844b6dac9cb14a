import {
  MAX_VALUE_BYTES,
  type UploadResponse,
  type UploadRow,
  type WireRow,
} from '@carburetor/core';
import { type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import { CarburetorServerError } from '../errors.ts';
import { uploadChanges } from '../upload/upload.ts';
import { at, cols, contactInsert, request, rowObject, uploadConfig } from './upload-config.ts';

/**
 * The upload behaviours every PostgreSQL driver must show, run by the pg and
 * the PGlite test files against a database migrated for `uploadConfig`.
 */
export function uploadSuite(database: () => Kysely<unknown>) {
  let counter = 0;
  /** A fresh row id per use, so tests sharing a database never meet. */
  const newId = (label: string) => `${label}-${++counter}`;

  const upload = (
    user: string,
    client: string,
    tables: Record<string, UploadRow[]>,
    group = 'mine',
  ) =>
    // Version 2: the merge's whole resolved row comes back (upload.lean.test.ts checks 3's lean answers).
    uploadChanges(database(), uploadConfig, group, request(client, tables, 2), { userId: user });

  const results = (response: UploadResponse, key = 'contact') => {
    const table = response.tables[key]!;
    return table.results.map((result) =>
      result.ok
        ? { ok: true as const, ...rowObject(table.columns, (result as { row: WireRow }).row) }
        : { ok: false as const, code: result.code, message: result.message },
    );
  };
  const only = (response: UploadResponse, key = 'contact') => {
    const [result] = results(response, key);
    return result!;
  };
  const okRow = (response: UploadResponse, key = 'contact') => {
    const result = only(response, key);
    if (!result.ok) throw new Error(`expected OK, got ${result.code}: ${result.message}`);
    return result;
  };

  const stored = async (id: string, table = 'contacts') => {
    const { rows } = await sql<
      Record<string, unknown>
    >`select * from ${sql.id(table)} where id = ${id}`.execute(database());
    return rows[0];
  };

  const insertContact = async (id: string, owner = 'u1', t = at(0), values = {}) =>
    okRow(await upload(owner, 'client-a', { contact: [contactInsert(id, owner, t, values)] }));

  const update = (id: string, t: number, values: Record<string, unknown>): UploadRow => ({
    op: 'update',
    id,
    columns: cols(t, values),
  });

  it('a newer write wins and an older one arriving later loses; the loser sees the winner', async () => {
    const id = newId('order');
    await insertContact(id);
    const newer = okRow(
      await upload('u1', 'client-b', { contact: [update(id, at(30), { name: 'Newer' })] }),
    );
    expect(newer.values['name']).toBe('Newer');
    expect(newer.metadata['name']).toEqual({ t: at(30), c: 'client-b' });

    const older = okRow(
      await upload('u1', 'client-c', {
        contact: [update(id, at(20), { name: 'Older', phone: '777' })],
      }),
    );
    // The older name lost; its phone (newer than the insert) won.
    expect(older.values).toMatchObject({ name: 'Newer', phone: '777' });
    expect(older.metadata['name']).toEqual({ t: at(30), c: 'client-b' });
    expect(older.metadata['phone']).toEqual({ t: at(20), c: 'client-c' });
    expect(await stored(id)).toMatchObject({ name: 'Newer', phone: '777' });
  });

  it('equal write times pick the same winner whatever the arrival order, by client id in code-unit order', async () => {
    // In code-unit order "a_z" < "ab" ("_" is 0x5F, "b" 0x62); a linguistic collation that skips "_" would say otherwise.
    const first = newId('tie');
    const second = newId('tie');
    await insertContact(first);
    await insertContact(second);
    const t = at(50);
    await upload('u1', 'a_z', { contact: [update(first, t, { name: 'from a_z' })] });
    await upload('u1', 'ab', { contact: [update(first, t, { name: 'from ab' })] });
    await upload('u1', 'ab', { contact: [update(second, t, { name: 'from ab' })] });
    const last = okRow(
      await upload('u1', 'a_z', { contact: [update(second, t, { name: 'from a_z' })] }),
    );
    expect(last.values['name']).toBe('from ab');
    expect((await stored(first))?.['name']).toBe('from ab');
    expect((await stored(second))?.['name']).toBe('from ab');
  });

  it('answers an update for a deleted row OK with the row, still deleted', async () => {
    const id = newId('deleted');
    await insertContact(id);
    const deleted = okRow(
      await upload('u1', 'client-a', { contact: [update(id, at(10), { is_deleted: true })] }),
    );
    expect(deleted.values['is_deleted']).toBe(true);

    const late = okRow(
      await upload('u1', 'client-b', { contact: [update(id, at(40), { name: 'Edited offline' })] }),
    );
    expect(late.values).toMatchObject({ is_deleted: true, name: 'Edited offline' });
    // Even a newer "not deleted" (a retried insert) cannot bring it back.
    const retried = okRow(
      await upload('u1', 'client-b', {
        contact: [contactInsert(id, 'u1', at(60), { name: 'Again' })],
      }),
    );
    expect(retried.values).toMatchObject({ is_deleted: true, name: 'Again' });
    expect(retried.metadata['is_deleted']).toEqual({ t: at(10), c: 'client-a' });
    expect((await stored(id))?.['is_deleted']).toBe(true);
  });

  it('the same upload sent twice gives the same state and OK both times', async () => {
    const id = newId('twice');
    const rows = [contactInsert(id, 'u1', at(0)), update(id, at(5), { note: 'hello' })];
    const first = await upload('u1', 'client-a', { contact: rows });
    const before = await stored(id);
    const second = await upload('u1', 'client-a', { contact: rows });
    expect(results(second)).toEqual(results(first));
    expect(results(second).every((r) => r.ok)).toBe(true);
    expect(await stored(id)).toEqual(before);
  });

  it('setting a nullable column to null arrives', async () => {
    const id = newId('null');
    await insertContact(id, 'u1', at(0), { note: 'something' });
    const row = okRow(
      await upload('u1', 'client-a', { contact: [update(id, at(5), { note: null })] }),
    );
    expect(row.values['note']).toBeNull();
    expect(row.metadata['note']).toEqual({ t: at(5), c: 'client-a' });
    expect((await stored(id))?.['note']).toBeNull();
  });

  it('an immutable column never changes; sending the same value is fine', async () => {
    const id = newId('immutable');
    await insertContact(id, 'u1', at(0), { serial: 'S-1' });
    const same = only(
      await upload('u1', 'client-a', {
        contact: [update(id, at(5), { serial: 'S-1', name: 'Same serial' })],
      }),
    );
    expect(same).toMatchObject({ ok: true, values: { serial: 'S-1', name: 'Same serial' } });
    const changed = only(
      await upload('u1', 'client-a', {
        contact: [update(id, at(9), { serial: 'S-2', name: 'Other serial' })],
      }),
    );
    expect(changed).toMatchObject({ ok: false, code: 'insufficient_permission' });
    expect(changed.ok || changed.message).toContain('serial is immutable');
    expect(await stored(id)).toMatchObject({ serial: 'S-1', name: 'Same serial' });
  });

  it('refuses a write time from the future with clock_skew and changes nothing of that row', async () => {
    const id = newId('future');
    const other = newId('present');
    await insertContact(id);
    const future = Date.now() + 60_000;
    const response = await upload('u1', 'client-a', {
      contact: [
        {
          op: 'update',
          id,
          columns: { name: { value: 'Future', t: future * 1000 }, phone: { value: '1', t: at(5) } },
        },
        contactInsert(other, 'u1', at(5)),
      ],
    });
    const [skewed, fine] = results(response);
    expect(skewed).toMatchObject({ ok: false, code: 'clock_skew' });
    expect(fine).toMatchObject({ ok: true });
    expect(await stored(id)).toMatchObject({ name: 'Ada', phone: '555' });
    // serverTime is PostgreSQL's clock, so the client can correct its offset.
    expect(Math.abs(response.serverTime - Date.now())).toBeLessThan(5_000);
  });

  it('a plain SQL update (stamped with server time by the trigger) beats an older offline edit', async () => {
    const id = newId('admin');
    await insertContact(id);
    await sql`update contacts set name = 'Fixed by admin' where id = ${id}`.execute(database());
    const offline = okRow(
      await upload('u1', 'client-a', { contact: [update(id, at(60), { name: 'Offline edit' })] }),
    );
    expect(offline.values['name']).toBe('Fixed by admin');
    expect(offline.metadata['name']?.c).toBe('server');
    expect((await stored(id))?.['name']).toBe('Fixed by admin');
  });

  it("refuses writes outside the caller's rows, changing nothing and revealing nothing of them", async () => {
    const theirs = newId('theirs');
    await insertContact(theirs, 'u2');
    const before = await stored(theirs);
    const forOther = newId('for-other');
    const unknown = newId('unknown');
    const response = await upload('u1', 'client-a', {
      contact: [
        contactInsert(forOther, 'u2', at(5)), // inserting for another user
        update(theirs, at(5), { name: 'Mine now' }), // updating another user's row
        contactInsert(theirs, 'u1', at(6)), // inserting an id that exists for another user
        update(unknown, at(5), { name: 'x' }), // updating an id that does not exist
      ],
    });
    const all = results(response);
    expect(all.map((r) => r.ok || r.code)).toEqual([
      'insufficient_permission',
      'record_not_found',
      'insufficient_permission',
      'record_not_found',
    ]);
    const messages = all.map((r) => (r.ok ? '' : r.message));
    // The caller's own values may be named; another user's never are.
    expect(messages[0]).toMatch(new RegExp(`^contact ${forOther}: .*owner_id`));
    // An update of another user's row reads exactly as one of an id that does not exist.
    expect(messages[1]!.replace(theirs, 'ID')).toBe(messages[3]!.replace(unknown, 'ID'));
    // An insert of a taken id says the id is taken, and nothing of the row.
    expect(messages[2]).toMatch(/a row with this id exists and is not yours to change/);
    for (const message of messages.slice(1)) {
      expect(message).not.toContain('u2');
      expect(message).not.toContain('owner_id');
      expect(message).not.toContain(before?.['name'] as string);
    }
    expect(await stored(forOther)).toBeUndefined();
    expect(await stored(theirs)).toEqual(before);

    const mine = newId('mine');
    await insertContact(mine, 'u1');
    const owner = only(
      await upload('u1', 'client-a', { contact: [update(mine, at(5), { owner_id: 'u2' })] }),
    );
    expect(owner).toMatchObject({ ok: false, code: 'insufficient_permission' });
    expect((await stored(mine))?.['owner_id']).toBe('u1');
  });

  it('answers record_not_found for an update of an unknown id, and read_only for a read-only table', async () => {
    const unknown = only(
      await upload('u1', 'client-a', { contact: [update('nobody', at(5), { name: 'x' })] }),
    );
    expect(unknown).toMatchObject({ ok: false, code: 'record_not_found' });
    const id = newId('ro');
    const readOnly = only(
      await upload('u1', 'client-a', { contact: [contactInsert(id, 'u1', at(5))] }, 'directory'),
    );
    expect(readOnly).toMatchObject({ ok: false, code: 'read_only' });
    expect(await stored(id)).toBeUndefined();
  });

  it("keeps a filtered group's writes inside its filter", async () => {
    const hidden = newId('hidden');
    const shown = newId('shown');
    const response = await upload(
      'u1',
      'client-a',
      {
        contact: [
          contactInsert(hidden, 'u1', at(5)),
          contactInsert(shown, 'u1', at(5), { published: true }),
        ],
      },
      'shared',
    );
    expect(results(response).map((r) => r.ok || r.code)).toEqual(['insufficient_permission', true]);
    const unpublish = only(
      await upload(
        'u1',
        'client-a',
        { contact: [update(shown, at(9), { published: false })] },
        'shared',
      ),
    );
    expect(unpublish).toMatchObject({ ok: false, code: 'insufficient_permission' });
    expect((await stored(shown))?.['published']).toBe(true);
  });

  it('merges a retried insert of an existing id column by column, OK', async () => {
    const id = newId('retry');
    await insertContact(id, 'u1', at(0), { name: 'First' });
    await upload('u1', 'client-b', { contact: [update(id, at(20), { phone: '999' })] });
    const retried = okRow(
      await upload('u1', 'client-a', {
        contact: [contactInsert(id, 'u1', at(0), { name: 'First' })],
      }),
    );
    expect(retried.values).toMatchObject({ name: 'First', phone: '999' });
  });

  it('refuses bad values per row with invalid_value and applies the other rows', async () => {
    const [unknown, wrongType, empty, huge, nul, good] = [
      'unknown',
      'type',
      'empty',
      'huge',
      'nul',
      'good',
    ].map(newId) as [string, string, string, string, string, string];
    const response = await upload('u1', 'client-a', {
      contact: [
        contactInsert(unknown, 'u1', at(5), { nickname: 'x' }),
        contactInsert(wrongType, 'u1', at(5), { phone: 555 }),
        contactInsert(empty, 'u1', at(5), { name: '' }),
        contactInsert(huge, 'u1', at(5), { note: 'x'.repeat(MAX_VALUE_BYTES + 1) }),
        contactInsert(nul, 'u1', at(5), { note: 'a\u0000b' }),
        contactInsert(good, 'u1', at(5)),
      ],
    });
    const all = results(response);
    expect(all.map((r) => r.ok || r.code)).toEqual([
      'invalid_value',
      'invalid_value',
      'invalid_value',
      'invalid_value',
      'invalid_value',
      true,
    ]);
    expect(all.map((r) => (r.ok ? '' : r.message))).toEqual([
      expect.stringContaining('unknown column "nickname"'),
      expect.stringContaining('phone expects a text value'),
      expect.stringContaining('a contact needs a name'),
      expect.stringContaining('over the limit'),
      expect.stringContaining('NUL character'),
      '',
    ]);
    expect(await stored(unknown)).toBeUndefined();
    expect(await stored(good)).toBeDefined();
  });

  it("a row the database itself refuses (the app's constraint or trigger) answers invalid_value alone; the rest applies", async () => {
    const db = database();
    // The app's own rules on its server table, which Carburetor's checks cannot know.
    await sql`alter table contacts drop constraint if exists app_no_forbidden_note`.execute(db);
    await sql`alter table contacts add constraint app_no_forbidden_note check (note is distinct from 'forbidden')`.execute(
      db,
    );
    await sql`create or replace function app_phone_rule() returns trigger language plpgsql as $$
      begin
        if new.phone = '000' then raise exception 'phone 000 is not allowed here'; end if;
        return new;
      end $$`.execute(db);
    await sql`drop trigger if exists app_phone_rule on contacts`.execute(db);
    await sql`create trigger app_phone_rule before insert or update on contacts for each row execute function app_phone_rule()`.execute(
      db,
    );
    try {
      const stale = newId('stale');
      await insertContact(stale);
      const ids = ['a', 'checked', 'b', 'raised', 'c', 'd', 'e'].map(newId);
      const [a, checked, b, raised, c, d, e] = ids as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const response = await upload('u1', 'client-a', {
        contact: [
          contactInsert(a, 'u1', at(5)),
          contactInsert(checked, 'u1', at(5), { note: 'forbidden' }),
          contactInsert(b, 'u1', at(5)),
          contactInsert(raised, 'u1', at(5), { phone: '000' }),
          contactInsert(c, 'u1', at(5)),
          update(stale, at(6), { note: 'forbidden' }),
          contactInsert(d, 'u1', at(5)),
          contactInsert(e, 'u1', at(5)),
        ],
      });
      const all = results(response);
      expect(all.map((r) => r.ok || r.code)).toEqual([
        true,
        'invalid_value',
        true,
        'invalid_value',
        true,
        'invalid_value',
        true,
        true,
      ]);
      expect(all[1]).toMatchObject({
        message: expect.stringMatching(
          /the database refused this row: .*violates check constraint "app_no_forbidden_note"/,
        ),
      });
      expect(all[3]).toMatchObject({
        message: expect.stringContaining('phone 000 is not allowed here'),
      });
      for (const id of [a, b, c, d, e]) expect(await stored(id)).toBeDefined();
      expect(await stored(checked)).toBeUndefined();
      expect(await stored(raised)).toBeUndefined();
      expect((await stored(stale))?.['note']).not.toBe('forbidden');
      // Every OK answer is the row as the server holds it.
      expect(all[0]).toMatchObject({ ok: true, values: { name: expect.any(String) } });
    } finally {
      await sql`drop trigger if exists app_phone_rule on contacts`.execute(db);
      await sql`alter table contacts drop constraint if exists app_no_forbidden_note`.execute(db);
    }
  });

  it('stores strings full of SQL and quote characters verbatim', async () => {
    const id = `it's "${newId('quote')}"; drop table contacts; --`;
    const nasty = `Robert'); DROP TABLE contacts;-- "x" \\ $1 $$ \\x00 ' || '' 🚗`;
    const row = okRow(
      await upload('u1', 'client-a', {
        contact: [contactInsert(id, 'u1', at(5), { name: nasty, note: "'; select 1; --" })],
      }),
    );
    expect(row.id).toBe(id);
    expect(row.values).toMatchObject({ name: nasty, note: "'; select 1; --" });
    expect(await stored(id)).toMatchObject({ id, name: nasty });
  });

  it('round-trips every column kind exactly', async () => {
    const id = newId('kinds');
    const values = {
      owner_id: 'u1',
      label: 'kinds',
      small: -2147483648,
      big: '9007199254740993',
      ratio: 0.1,
      amount: '123456789012345678901234567890.123456789',
      day: '2024-02-29',
      at: '2024-03-10T14:34:56.123456+02:00',
      doc: { a: [1, 'x', { b: null }], "quote's": 'it\'s "fine"' },
      ref: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      bytes: 'AAF/gP7/',
      flag: true,
      is_deleted: false,
    };
    const row = okRow(
      await upload('u1', 'client-a', {
        sample: [{ op: 'insert', id, columns: cols(at(5), values) }],
      }),
      'sample',
    );
    expect(row.values).toEqual({
      ...values,
      at: '2024-03-10T12:34:56.123456Z',
      ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    });
    expect(row.lastSyncedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const raw = await stored(id, 'samples');
    expect([...((raw?.['bytes'] ?? []) as Uint8Array)]).toEqual([0, 1, 127, 128, 254, 255]);
  });

  it('throws for a table that is not in the group, writing nothing', async () => {
    const id = newId('structure');
    await expect(
      upload('u1', 'client-a', { contact: [contactInsert(id, 'u1', at(5))], sample: [] }, 'shared'),
    ).rejects.toThrow(CarburetorServerError);
    await expect(
      upload('u1', 'client-a', { contact: [contactInsert(id, 'u1', at(5))] }, 'nope'),
    ).rejects.toThrow(/Unknown sync group "nope"/);
    expect(await stored(id)).toBeUndefined();
  });
}
