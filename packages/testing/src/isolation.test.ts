import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, testAdminUrl, withPgPool } from './index.ts';

describe('createTestDatabase', () => {
  const created: Array<{ drop(): Promise<void> }> = [];
  afterAll(async () => {
    for (const db of created) await db.drop();
  });

  it('hands tests the server through inject and the environment', () => {
    expect(inject('carburetorTestAdminUrl')).toMatch(/^postgres(ql)?:\/\//);
    expect(process.env['CARBURETOR_TEST_ADMIN_URL']).toBe(inject('carburetorTestAdminUrl'));
    expect(testAdminUrl()).toBe(inject('carburetorTestAdminUrl'));
  });

  it('creates separate databases: a table written in one is absent from the other', async () => {
    const a = await createTestDatabase('Isolation A!');
    const b = await createTestDatabase('isolation-a!');
    created.push(a, b);
    expect(a.name).not.toBe(b.name);
    expect(a.name).toMatch(/^cb_[0-9a-f]{6}_isolation_a_[0-9a-f]{8}$/);

    await withPgPool(a.url, async (pool) => {
      await pool.query('create table notes (body text)');
      await pool.query("insert into notes values ('only in a')");
      const { rows } = await pool.query('select current_database() as db, body from notes');
      expect(rows).toEqual([{ db: a.name, body: 'only in a' }]);
    });
    await withPgPool(b.url, async (pool) => {
      const { rows } = await pool.query("select to_regclass('public.notes') as notes");
      expect(rows).toEqual([{ notes: null }]);
    });
  });

  it('drop ends open connections and removes the database', async () => {
    const db = await createTestDatabase('dropped');
    const open = new pg.Client({ connectionString: db.url });
    open.on('error', () => {}); // the forced drop kills this session on purpose
    await open.connect();
    await db.drop();
    await db.drop(); // a second call is harmless
    await open.end().catch(() => undefined);
    const exists = await withPgPool(testAdminUrl(), async (pool) => {
      const { rowCount } = await pool.query('select 1 from pg_database where datname = $1', [
        db.name,
      ]);
      return rowCount;
    });
    expect(exists).toBe(0);
  });
});
