import { createTestDatabase, testAdminUrl, withPgPool } from '@carburetor/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { uploadChanges } from '../upload/upload.ts';
import { uploadSuite } from './upload.suite.ts';
import { at, cols, contactInsert, request, uploadConfig } from './upload-config.ts';

const database = await createTestDatabase('upload');
const db = createPgKysely<unknown>(database.url);

beforeAll(async () => {
  await migrateServer(db, uploadConfig);
});

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

describe('uploadChanges on PostgreSQL (pg)', () => {
  uploadSuite(() => db);

  it('refuses an id another user inserts at the same moment (the insert guard)', async () => {
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(
        `insert into contacts (id, owner_id, name, phone) values ('race-1', 'u2', 'Theirs', '1')`,
      );
      // u1's upload finds no row to lock, then waits on u2's uncommitted insert of the same id.
      const pending = uploadChanges(
        db,
        uploadConfig,
        'mine',
        request('client-a', { contact: [contactInsert('race-1', 'u1', at(5))] }),
        { userId: 'u1' },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await other.query('commit');
      const response = await pending;
      expect(response.tables['contact']?.results[0]).toMatchObject({
        ok: false,
        code: 'insufficient_permission',
      });
      const { rows } = await sql<{
        owner_id: string;
        name: string;
      }>`select owner_id, name from contacts where id = 'race-1'`.execute(db);
      expect(rows).toEqual([{ owner_id: 'u2', name: 'Theirs' }]);
    } finally {
      await other.end();
    }
  });
});

describe('uploadChanges on a database with a linguistic default collation', () => {
  // ICU orders "_" before "-"; code units order "-" (0x2D) before "_" (0x5F).
  const icuName = `${database.name}_icu`;
  const icuUrl = new URL(database.url);
  icuUrl.pathname = `/${icuName}`;
  const icuDb = createPgKysely<unknown>(icuUrl.toString());

  beforeAll(async () => {
    await withPgPool(testAdminUrl(), (pool) =>
      pool.query(
        `create database "${icuName}" template template0 locale_provider icu icu_locale 'und' locale 'C.UTF-8'`,
      ),
    );
    await migrateServer(icuDb, uploadConfig);
  });

  afterAll(async () => {
    await icuDb.destroy();
    await withPgPool(testAdminUrl(), (pool) =>
      pool.query(`drop database if exists "${icuName}" with (force)`),
    );
  });

  it('breaks write-time ties by client id in code-unit order, as JS does', async () => {
    const { rows } = await sql<{ icu: boolean }>`select 'x_1' < 'x-1' as icu`.execute(icuDb);
    expect(rows[0]?.icu).toBe(true); // the database's own order disagrees with JS
    const send = (id: string, client: string, name: string, op: 'insert' | 'update') =>
      uploadChanges(
        icuDb,
        uploadConfig,
        'mine',
        request(client, {
          contact: [
            op === 'insert'
              ? contactInsert(id, 'u1', at(0))
              : { op, id, columns: cols(at(9), { name }) },
          ],
        }),
        { userId: 'u1' },
      );
    for (const [id, order] of [
      ['tie-1', ['x_1', 'x-1']],
      ['tie-2', ['x-1', 'x_1']],
    ] as const) {
      await send(id, 'x-1', '', 'insert');
      for (const client of order) await send(id, client, `from ${client}`, 'update');
    }
    const { rows: stored } = await sql<{
      name: string;
    }>`select name from contacts where id in ('tie-1', 'tie-2') order by id`.execute(icuDb);
    expect(stored).toEqual([{ name: 'from x_1' }, { name: 'from x_1' }]);
  });
});
