import {
  boolean,
  columnTypes,
  date,
  defineSyncConfig,
  double,
  downloadRowsToWire,
  integer,
  numeric,
  PROTOCOL_VERSION,
  type ResolvedTable,
  table,
  text,
  timestamptz,
  type WireRow,
} from '@carburetor/core';
import { everyKindConfig } from '@carburetor/testing/every-kind';
import { type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import { downloadChanges } from '../download/download.ts';
import { CarburetorServerError } from '../errors.ts';
import { migrateServer } from '../schema/migrate.ts';
import { purgeDeletedRows } from '../schema/purge.ts';
import { contactsConfig, downloadAll } from './download-support.ts';

// biome-ignore lint/suspicious/noExplicitAny: any schema
type Db = Kysely<any>;

const SERVER_TIME = 1_700_000_000_000_000; // a write time well in the past

async function insertContact(
  db: Db,
  tableName: string,
  id: string,
  values: { owner_id?: string; name?: string; published?: boolean; phone?: string | null } = {},
) {
  await db
    .insertInto(tableName)
    .values({ id, owner_id: 'u1', name: `name ${id}`, ...values })
    .execute();
}

/**
 * The behaviours every driver must show, registered as tests on the
 * database `getDb` gives (pg in one file, PGlite in another). Each test
 * works on tables of its own.
 */
export function syncScenarios(getDb: () => Db): void {
  it('downloads rows written by plain SQL, with server-stamped metadata', async () => {
    const db = getDb();
    const config = contactsConfig('plain');
    await migrateServer(db, config);
    const before = Date.now();
    await insertContact(db, 'plain_contacts', 'c1', { phone: '555', published: true });
    const got = await downloadAll(db, config, 'everything', {});
    const row = got.rows.get('c1')!;
    expect(got.pages[0]!.tables['contact']!.columns).toEqual([
      'owner_id',
      'name',
      'phone',
      'published',
      'rank',
      'is_deleted',
    ]);
    const [id, lastSyncedAt, metadata, ...values] = row as [
      string,
      string,
      Record<string, { t: number; c: string }>,
      ...unknown[],
    ];
    expect(id).toBe('c1');
    expect(lastSyncedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(values).toEqual(['u1', 'name c1', '555', true, 0, false]);
    expect(Object.keys(metadata).sort()).toEqual(
      ['is_deleted', 'name', 'owner_id', 'phone', 'published', 'rank'].sort(),
    );
    for (const stamp of Object.values(metadata)) {
      expect(stamp.c).toBe('server');
      expect(stamp.t).toBeGreaterThanOrEqual((before - 5_000) * 1000);
    }
    expect(got.pages[0]!.serverTime).toBeGreaterThan(before - 5_000);
  });

  it('stamps only the columns a plain SQL update changed, past the stamp they replace', async () => {
    const db = getDb();
    const config = contactsConfig('stamp');
    await migrateServer(db, config);
    const future = (Date.now() + 60_000) * 1000; // a replica's stamp ahead of server time
    await db
      .insertInto('stamp_contacts')
      .values({
        id: 'c1',
        owner_id: 'u1',
        name: 'Ann',
        column_sync_metadata: JSON.stringify({ name: { t: future, c: 'zz-device' } }),
      })
      .execute();
    const inserted = await db
      .selectFrom('stamp_contacts')
      .select(['column_sync_metadata as m', sql<string>`_carburetor_xid::text`.as('x')])
      .executeTakeFirstOrThrow();
    // On insert, a stamp already there is kept; the others are the server's.
    expect(inserted.m.name).toEqual({ t: future, c: 'zz-device' });
    expect(inserted.m.phone.c).toBe('server');

    await db.updateTable('stamp_contacts').set({ name: 'Anne' }).where('id', '=', 'c1').execute();
    const updated = await db
      .selectFrom('stamp_contacts')
      .select(['column_sync_metadata as m', sql<string>`_carburetor_xid::text`.as('x')])
      .executeTakeFirstOrThrow();
    expect(updated.m.name).toEqual({ t: future + 1, c: 'server' });
    expect(updated.m.phone).toEqual(inserted.m.phone);
    expect(updated.x).not.toBe(inserted.x);

    // An update that changes nothing is dropped: no new cursor position, nothing to download.
    const { cursor } = await downloadAll(db, config, 'everything', {});
    await db.updateTable('stamp_contacts').set({ name: 'Anne' }).where('id', '=', 'c1').execute();
    const again = await db
      .selectFrom('stamp_contacts')
      .select(sql<string>`_carburetor_xid::text`.as('x'))
      .executeTakeFirstOrThrow();
    expect(again.x).toBe(updated.x);
    const next = await downloadAll(db, config, 'everything', {}, { cursor, hasRows: true });
    expect(next.received).toEqual([]);
  });

  it('leaves metadata to the upload inside an upload transaction', async () => {
    const db = getDb();
    const config = contactsConfig('upl');
    await migrateServer(db, config);
    await db.transaction().execute(async (trx) => {
      await sql`select set_config('carburetor.upload', 'on', true)`.execute(trx);
      await trx
        .insertInto('upl_contacts')
        .values({
          id: 'c1',
          owner_id: 'u1',
          name: 'x',
          column_sync_metadata: JSON.stringify({ name: { t: SERVER_TIME, c: 'dev' } }),
        })
        .execute();
    });
    const row = await db
      .selectFrom('upl_contacts')
      .select(['column_sync_metadata as m', 'last_synced_at'])
      .executeTakeFirstOrThrow();
    expect(row.m).toEqual({ name: { t: SERVER_TIME, c: 'dev' } });
    expect(row.last_synced_at).toBeTruthy();
  });

  it('sends each column its own stamp and writer, and leaves out stamps it cannot read', async () => {
    const db = getDb();
    const config = contactsConfig('stamps');
    await migrateServer(db, config);
    const at = (k: number) => SERVER_TIME + k * 1_000_003;
    const mixed = {
      owner_id: { t: at(5), c: 'device-a' },
      name: { t: at(1), c: 'device-a' },
      phone: { t: at(9), c: 'device-b' },
      rank: { t: at(2), c: 'device-b' },
      is_deleted: { t: at(5), c: 'device-a' },
    };
    const broken = {
      owner_id: { t: at(3) }, // no writer
      name: { c: 'device-a' }, // no time
      phone: { t: 'soon', c: 'device-c' }, // a time that is not a number…
      published: { t: at(4), c: 'device-c' }, // …but its writer still carries to the next column
      rank: { t: at(6), c: '' },
      is_deleted: { t: 1.5, c: 'device-b' },
    };
    // Written whole by one writer (the common row), and a row where a time or
    // a writer repeats across a column without a stamp, or changes alone.
    const whole = Object.fromEntries(
      ['owner_id', 'name', 'phone', 'published', 'rank', 'is_deleted'].map((c) => [
        c,
        { t: at(7), c: 'device-b' },
      ]),
    );
    const gaps = {
      owner_id: { t: at(8), c: 'device-a' },
      name: { t: at(8), c: 'device-b' },
      published: { t: at(8), c: 'device-b' },
      rank: { t: at(3), c: 'device-b' },
      is_deleted: { t: at(3), c: 'device-a' },
    };
    await db.transaction().execute(async (trx) => {
      await sql`select set_config('carburetor.upload', 'on', true)`.execute(trx);
      await trx
        .insertInto('stamps_contacts')
        .values([
          { id: 'mixed', owner_id: 'u1', name: 'x', column_sync_metadata: JSON.stringify(mixed) },
          { id: 'broken', owner_id: 'u1', name: 'y', column_sync_metadata: JSON.stringify(broken) },
          { id: 'whole', owner_id: 'u1', name: 'z', column_sync_metadata: JSON.stringify(whole) },
          { id: 'gaps', owner_id: 'u1', name: 'w', column_sync_metadata: JSON.stringify(gaps) },
        ])
        .execute();
    });
    const got = await downloadAll(db, config, 'everything', {});
    expect(got.rows.get('mixed')![2]).toEqual(mixed);
    expect(got.rows.get('broken')![2]).toEqual({ published: { t: at(4), c: 'device-c' } });
    expect(got.rows.get('whole')![2]).toEqual(whole);
    expect(got.rows.get('gaps')![2]).toEqual(gaps);
    const clients = got.pages[0]!.tables['contact']!.clients;
    expect([...clients].sort()).toEqual(['device-a', 'device-b', 'device-c']);
  });

  it('refuses un-delete and hard DELETE; purgeDeletedRows removes old tombstones only', async () => {
    const db = getDb();
    const config = contactsConfig('del');
    await migrateServer(db, config);
    await insertContact(db, 'del_contacts', 'c1');
    await insertContact(db, 'del_contacts', 'c2');
    await db.updateTable('del_contacts').set({ is_deleted: true }).where('id', '=', 'c1').execute();
    await expect(
      db.updateTable('del_contacts').set({ is_deleted: false }).where('id', '=', 'c1').execute(),
    ).rejects.toThrow(/Cannot un-delete row 'c1' of table del_contacts/);
    await expect(db.deleteFrom('del_contacts').where('id', '=', 'c2').execute()).rejects.toThrow(
      /Cannot DELETE row 'c2' of table del_contacts.*Set is_deleted = true instead/,
    );
    // A tombstone newer than the date stays; older ones go; live rows always stay.
    expect(
      await purgeDeletedRows(db, config, { olderThan: new Date(Date.now() - 60_000) }),
    ).toEqual({ contact: 0 });
    expect(
      await purgeDeletedRows(db, config, { olderThan: new Date(Date.now() + 60_000) }),
    ).toEqual({ contact: 1 });
    const ids = await db.selectFrom('del_contacts').select('id').execute();
    expect(ids.map((r) => r.id)).toEqual(['c2']);
    // The purge setting was local to its transaction.
    await expect(db.deleteFrom('del_contacts').execute()).rejects.toThrow(/Cannot DELETE/);
  });

  it('leaves deleted rows out of a first download, unless the replica holds rows; later downloads carry them whole', async () => {
    const db = getDb();
    const config = contactsConfig('tomb');
    await migrateServer(db, config);
    for (const id of ['a', 'b', 'c']) await insertContact(db, 'tomb_contacts', id);
    await db.updateTable('tomb_contacts').set({ is_deleted: true }).where('id', '=', 'b').execute();

    const fresh = await downloadAll(db, config, 'everything', {});
    expect([...fresh.rows.keys()]).toEqual(['a', 'c']);
    expect(fresh.tombstones).toEqual([]);

    const holding = await downloadAll(
      db,
      config,
      'everything',
      {},
      { cursor: null, hasRows: true },
    );
    expect([...holding.rows.keys()]).toEqual(['a', 'c']);
    expect(holding.tombstones).toEqual(['b']);

    await db.updateTable('tomb_contacts').set({ is_deleted: true }).where('id', '=', 'c').execute();
    const later = await downloadAll(
      db,
      config,
      'everything',
      {},
      { cursor: fresh.cursor, hasRows: true },
    );
    // Whole, with metadata: the other columns of a deleted row still merge, so replicas converge on them.
    expect(later.tombstones).toEqual([]);
    expect([...later.rows.keys()]).toEqual(['c']);
    const columns = later.pages.at(-1)!.tables['contact']!.columns;
    const row = later.rows.get('c')!;
    expect(row[3 + columns.indexOf('is_deleted')]).toBe(true);
    expect(row[2]).toHaveProperty('is_deleted.c', 'server');
  });

  it('keeps deletions out of every page of a first download, not only the first', async () => {
    const db = getDb();
    const config = contactsConfig('firstpages');
    await migrateServer(db, config);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f'])
      await insertContact(db, 'firstpages_contacts', id);
    await db
      .updateTable('firstpages_contacts')
      .set({ is_deleted: true })
      .where('id', 'in', ['d', 'f'])
      .execute();
    const fresh = await downloadAll(db, config, 'everything', {}, { cursor: null }, 2);
    expect(fresh.pages.length).toBeGreaterThan(1);
    expect([...fresh.rows.keys()]).toEqual(['a', 'b', 'c', 'e']);
    expect(fresh.tombstones).toEqual([]);
  });

  it('sends each user only their rows of a restricted group', async () => {
    const db = getDb();
    const config = contactsConfig('own');
    await migrateServer(db, config);
    await insertContact(db, 'own_contacts', 'a1', { owner_id: 'alice' });
    await insertContact(db, 'own_contacts', 'b1', { owner_id: 'bob' });
    await insertContact(db, 'own_contacts', 'a2', { owner_id: 'alice' });
    const alice = await downloadAll(db, config, 'mine', { userId: 'alice' });
    const bob = await downloadAll(db, config, 'mine', { userId: 'bob' });
    expect([...alice.rows.keys()].sort()).toEqual(['a1', 'a2']);
    expect([...bob.rows.keys()]).toEqual(['b1']);
    await expect(downloadAll(db, config, 'mine', {})).rejects.toMatchObject({
      code: 'unauthorized',
    });
  });

  it('answers a cursor of another user or another group definition as a first download', async () => {
    const db = getDb();
    const config = contactsConfig('reset');
    await migrateServer(db, config);
    await insertContact(db, 'reset_contacts', 'a1', { owner_id: 'alice', published: true });
    await insertContact(db, 'reset_contacts', 'b1', { owner_id: 'bob', published: true });
    const alice = await downloadAll(db, config, 'mine', { userId: 'alice' });
    expect(alice.pages[0]!.tables['contact']!.reset).toBe(false);

    const bob = await downloadAll(db, config, 'mine', { userId: 'bob' }, { cursor: alice.cursor });
    expect(bob.pages[0]!.tables['contact']!.reset).toBe(true);
    expect([...bob.rows.keys()]).toEqual(['b1']);
    // The same user again: the cursor holds, nothing new.
    const again = await downloadAll(
      db,
      config,
      'mine',
      { userId: 'alice' },
      { cursor: alice.cursor, hasRows: true },
    );
    expect(again.pages[0]!.tables['contact']!.reset).toBe(false);
    expect(again.received).toEqual([]);

    // The directory group's filter changes: its old cursors start over.
    const directory = await downloadAll(db, config, 'directory', {});
    const changed = defineSyncConfig({
      tables: { contact: config.$tables.contact },
      syncGroups: { directory: { contact: { filter: { published: false }, readOnly: true } } },
    });
    const page = await downloadChanges(
      db,
      changed,
      'directory',
      {
        protocol: PROTOCOL_VERSION,
        clientId: 'test-client',
        tables: { contact: { cursor: directory.cursor, hasRows: true } },
      },
      {},
    );
    expect(page.tables['contact']!.reset).toBe(true);
  });

  it('sends a row that left the filter as out of scope', async () => {
    const db = getDb();
    const config = contactsConfig('scope');
    await migrateServer(db, config);
    await insertContact(db, 'scope_contacts', 'p1', { published: true });
    await insertContact(db, 'scope_contacts', 'p2', { published: true });
    await insertContact(db, 'scope_contacts', 'h1', { published: false });
    const first = await downloadAll(db, config, 'directory', {});
    expect([...first.rows.keys()]).toEqual(['p1', 'p2']);
    expect(first.outOfScope).toEqual([]);

    await db
      .updateTable('scope_contacts')
      .set({ published: false })
      .where('id', '=', 'p1')
      .execute();
    await db
      .updateTable('scope_contacts')
      .set({ published: true })
      .where('id', '=', 'h1')
      .execute();
    const next = await downloadAll(
      db,
      config,
      'directory',
      {},
      { cursor: first.cursor, hasRows: true },
    );
    expect(next.outOfScope).toEqual(['p1']);
    expect([...next.rows.keys()]).toEqual(['h1']);

    // Unpublished and deleted in one write: out of scope still (the filter comes first).
    await db
      .updateTable('scope_contacts')
      .set({ published: false, is_deleted: true })
      .where('id', '=', 'p2')
      .execute();
    const last = await downloadAll(
      db,
      config,
      'directory',
      {},
      { cursor: next.cursor, hasRows: true },
    );
    expect(last.outOfScope).toEqual(['p2']);
    expect(last.tombstones).toEqual([]);
    expect(last.rows.size).toBe(0);
  });

  it('never names a row to a caller who could not have seen it: out of scope only after leaving the filter', async () => {
    const db = getDb();
    const config = defineSyncConfig({
      tables: {
        contact: table(
          { plural: 'leak_contacts' },
          {
            owner_id: text().immutable(),
            name: text(),
            published: boolean().default(false),
            team: text().default('red'),
          },
        ),
      },
      syncGroups: {
        directory: { contact: { filter: { published: true }, readOnly: true } },
        // Restricted and filtered: the caller's own rows of the red team.
        my_red: {
          contact: {
            restrictTo: { column: 'owner_id', context: 'userId' },
            filter: { team: 'red' },
          },
        },
      },
    });
    await migrateServer(db, config);
    const write = (id: string, values: Record<string, unknown>) =>
      db.updateTable('leak_contacts').set(values).where('id', '=', id).execute();
    // Alice's rows: one public, two private (one deleted); Bob's: one public.
    await insertContact(db, 'leak_contacts', 'a-pub', { owner_id: 'alice', published: true });
    await insertContact(db, 'leak_contacts', 'a-priv', { owner_id: 'alice' });
    await insertContact(db, 'leak_contacts', 'a-gone', { owner_id: 'alice' });
    await write('a-gone', { is_deleted: true });
    await insertContact(db, 'leak_contacts', 'b-pub', { owner_id: 'bob', published: true });
    const named = (d: {
      rows: Map<string, unknown[]>;
      tombstones: string[];
      outOfScope: string[];
    }) => [...d.rows.keys(), ...d.tombstones, ...d.outOfScope].sort();

    // First passes, with and without rows held: only public rows, whatever hasRows says.
    for (const hasRows of [false, true]) {
      const first = await downloadAll(db, config, 'directory', {}, { cursor: null, hasRows });
      expect(named(first)).toEqual(['a-pub', 'b-pub']);
    }
    const bob = await downloadAll(db, config, 'directory', {}, { cursor: null, hasRows: true });

    // Alice edits and deletes private rows: Bob's next pass names none of them.
    await write('a-priv', { name: 'still private' });
    await write('a-priv', { name: 'still private, again' });
    const quiet = await downloadAll(
      db,
      config,
      'directory',
      {},
      { cursor: bob.cursor, hasRows: true },
    );
    expect(named(quiet)).toEqual([]);

    // A public row leaves the filter: named out of scope once, to a caller who could see it.
    await write('a-pub', { published: false });
    const left = await downloadAll(
      db,
      config,
      'directory',
      {},
      { cursor: quiet.cursor, hasRows: true },
    );
    expect(left.outOfScope).toEqual(['a-pub']);
    expect(left.rows.size).toBe(0);
    // Edited again while private: not named again after the pass that named it.
    const later = await downloadAll(
      db,
      config,
      'directory',
      {},
      { cursor: left.cursor, hasRows: true },
    );
    await write('a-pub', { name: 'private now' });
    const after = await downloadAll(
      db,
      config,
      'directory',
      {},
      { cursor: later.cursor, hasRows: true },
    );
    expect(named(after)).toEqual([]);
    // A replica whose cursor was reset (discard) holding rows still learns that it left.
    const reset = await downloadAll(db, config, 'directory', {}, { cursor: null, hasRows: true });
    expect(reset.outOfScope).toEqual(['a-pub']);

    // It re-enters: comes whole; a private row that is published comes whole too.
    await write('a-pub', { published: true });
    await write('a-priv', { published: true });
    const back = await downloadAll(
      db,
      config,
      'directory',
      {},
      { cursor: after.cursor, hasRows: true },
    );
    expect([...back.rows.keys()].sort()).toEqual(['a-priv', 'a-pub']);
    expect(back.outOfScope).toEqual([]);

    // Restricted and filtered: Alice's rows that leave the red team are named to Alice only.
    const aliceRed = await downloadAll(db, config, 'my_red', { userId: 'alice' });
    expect([...aliceRed.rows.keys()].sort()).toEqual(['a-priv', 'a-pub']);
    const bobRed = await downloadAll(db, config, 'my_red', { userId: 'bob' });
    await write('a-priv', { team: 'blue' });
    await write('b-pub', { name: 'bob edits' });
    const aliceNext = await downloadAll(
      db,
      config,
      'my_red',
      { userId: 'alice' },
      {
        cursor: aliceRed.cursor,
        hasRows: true,
      },
    );
    expect(aliceNext.outOfScope).toEqual(['a-priv']);
    const bobNext = await downloadAll(
      db,
      config,
      'my_red',
      { userId: 'bob' },
      {
        cursor: bobRed.cursor,
        hasRows: true,
      },
    );
    expect(named(bobNext)).toEqual(['b-pub']);
  });

  it('refuses a malformed cursor with a clear bad_request', async () => {
    const db = getDb();
    const config = contactsConfig('bad');
    await migrateServer(db, config);
    const error = await downloadAll(db, config, 'everything', {}, { cursor: 'not-a-cursor' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CarburetorServerError);
    expect(error).toMatchObject({ code: 'bad_request', table: 'contact' });
    expect((error as Error).message).toMatch(/cursor of table "contact" is malformed/);
  });

  it('downloads a wide table (300 columns) in pages, every value and stamp', async () => {
    const db = getDb();
    const names = Array.from({ length: 300 }, (_, n) => `c${n}`);
    const config = defineSyncConfig({
      tables: {
        wide: table(
          { plural: 'wide_rows' },
          Object.fromEntries(names.map((name) => [name, integer().nullable()])),
        ),
      },
      syncGroups: { all: { wide: true } },
    });
    await migrateServer(db, config);
    const values = (k: number) => Object.fromEntries(names.map((name, n) => [name, n * k]));
    await db
      .insertInto('wide_rows')
      .values([1, 2, 3].map((k) => ({ id: `w${k}`, ...values(k) })))
      .execute();
    await sql`update wide_rows set c150 = -1 where id = 'w2'`.execute(db);
    const got: WireRow[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page = await downloadChanges(
        db,
        config,
        'all',
        {
          protocol: PROTOCOL_VERSION,
          clientId: 'c',
          tables: { wide: { cursor, hasRows: cursor !== null } },
          pageSize: 2,
        },
        {},
      );
      got.push(...downloadRowsToWire(page.tables['wide']!));
      cursor = page.tables['wide']!.cursor;
      if (!page.hasMore) break;
    }
    expect(got.map((row) => row[0]).sort()).toEqual(['w1', 'w2', 'w3']);
    const stored = await db.selectFrom('wide_rows').selectAll().execute();
    for (const row of got) {
      const raw = stored.find((r) => r['id'] === row[0])!;
      expect(row.slice(3)).toEqual([...names.map((name) => raw[name]), false]);
      expect(row[2]).toEqual(raw['column_sync_metadata']);
    }
    expect(got.find((row) => row[0] === 'w2')![3 + 150]).toBe(-1);
  });

  it('sends a value outside the domain (BC, infinity, NaN) as PostgreSQL prints it, for the replica to refuse', async () => {
    const db = getDb();
    const config = defineSyncConfig({
      tables: {
        odd: table(
          { plural: 'odd_values' },
          {
            day: date().nullable(),
            at: timestamptz().nullable(),
            d: double().nullable(),
            n: numeric().nullable(),
          },
        ),
      },
      syncGroups: { all: { odd: true } },
    });
    await migrateServer(db, config);
    // Outside writes: an admin's SQL can store what Carburetor's checks refuse.
    await sql`insert into odd_values (id, day, at, d, n) values
      ('bc', '0044-03-15 BC', '0044-03-15 12:00:00+00 BC', 'NaN', 'NaN'),
      ('inf', 'infinity', '-infinity', 'Infinity', 'Infinity'),
      ('late', '9999-12-31', '10000-01-01 00:00:00+00', '-Infinity', '1'),
      ('fine', '0001-01-01', '0001-01-01 00:00:00+00', '1.5', '2')`.execute(db);
    const page = await downloadChanges(
      db,
      config,
      'all',
      {
        protocol: PROTOCOL_VERSION,
        clientId: 'c',
        tables: { odd: { cursor: null, hasRows: false } },
      },
      {},
    );
    const table_ = config.tables.odd as ResolvedTable;
    const rows = Object.fromEntries(
      downloadRowsToWire(page.tables['odd']!).map((row) => [
        row[0],
        ['day', 'at', 'd', 'n'].map((name) => row[3 + table_.syncedColumns.indexOf(name)]),
      ]),
    );
    expect(rows['bc']).toEqual(['0044-03-15 BC', '0044-03-15 12:00:00+00 BC', 'NaN', 'NaN']);
    expect(rows['inf']).toEqual(['infinity', '-infinity', 'Infinity', 'Infinity']);
    expect(rows['late']).toEqual(['9999-12-31', '10000-01-01 00:00:00+00', '-Infinity', '1']);
    expect(rows['fine']).toEqual(['0001-01-01', '0001-01-01T00:00:00.000000Z', 1.5, '2']);
    // Each out-of-domain value is one core's check refuses: the replica quarantines the row.
    for (const id of ['bc', 'inf', 'late']) {
      const refused = ['day', 'at', 'd', 'n'].filter(
        (name, n) => table_.column[name]!.type.checkWire(rows[id]![n]) !== undefined,
      );
      expect(refused.length, id).toBeGreaterThan(0);
    }
  });

  it('sends every column kind exactly as the type mapping encodes it', async () => {
    const db = getDb();
    const config = everyKindConfig('kind_samples');
    await migrateServer(db, config);
    await db
      .insertInto('kind_samples')
      .values([
        {
          id: 'full',
          t: `it's "quoted" \\ and 🚗\n`,
          b: true,
          i: -2147483648,
          big: '9007199254740993',
          d: 0.1,
          n: '123456789012345678901234567890.120',
          day: '2024-02-29',
          at: '2024-03-10T14:34:56.1+02:00',
          doc: JSON.stringify({ b: [1, 2.5, 'x'], a: { deep: null } }),
          u: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
          bytes: new Uint8Array(200).map((_, k) => k),
        },
        { id: 'empty' },
      ])
      .execute();
    const page = await downloadChanges(
      db,
      config,
      'all',
      {
        protocol: PROTOCOL_VERSION,
        clientId: 'c',
        tables: { sample: { cursor: null, hasRows: false } },
      },
      {},
    );
    const stored = await db.selectFrom('kind_samples').selectAll().orderBy('id').execute();
    const tableDef = config.tables.sample as ResolvedTable;
    const expected = stored
      .map((raw) => [
        raw['id'],
        columnTypes.timestamptz.fromPg(raw['last_synced_at']),
        raw['column_sync_metadata'],
        ...tableDef.syncedColumns.map((name) => {
          const value = raw[name];
          if (value === null) return null;
          const type = tableDef.column[name]!.type;
          return type.toWire(type.fromPg(value) as never);
        }),
      ])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const part = page.tables['sample']!;
    const rows = downloadRowsToWire(part).sort((a, b) => a[0].localeCompare(b[0]));
    expect(rows).toEqual(expected);
    expect(rows.find((r) => r[0] === 'full')).toContain('2024-03-10T12:34:56.100000Z');
  });
}
