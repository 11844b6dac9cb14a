import { type PostgresServer, startPostgresServer } from '@carburetor/testing/postgres-server';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor } from '../download/cursor.ts';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { type ContactsConfig, contactsConfig, downloadAll } from './download-support.ts';

// A crash of PostgreSQL forgets transactions that ended without a flushed WAL record (an
// abort, or a transaction that only sent a NOTIFY: the hub's announcements), though
// snapshots had counted them as ended; after the restart their xids are handed out again.
// A cursor whose floor had passed such an xid must not skip the row that gets it. This file
// stops and starts its own PostgreSQL (the run's shared one serves other files).

let postgres: PostgresServer;
// biome-ignore lint/suspicious/noExplicitAny: any schema
let db: Kysely<any>;

beforeAll(async () => {
  postgres = await startPostgresServer({ durableCommits: true });
  db = createPgKysely(postgres.url, { onError: () => undefined });
}, 60_000);

afterAll(async () => {
  await db?.destroy();
  await postgres?.stop();
});

async function migrated(prefix: string): Promise<ContactsConfig> {
  const config = contactsConfig(prefix);
  await migrateServer(db, config);
  return config;
}

const insert = (config: ContactsConfig, id: string) =>
  sql`insert into ${sql.table(config.tables.contact.sqlName)} (id, owner_id, name)
      values (${id}, 'u1', ${id})`.execute(db);

/** Ends a transaction that took an xid but wrote no WAL: its commit is not flushed. */
const notify = () => sql`select pg_notify('carburetor_test', 'x')`.execute(db);

/** Stops PostgreSQL as a crash would and starts it again; the pool's connections are gone. */
async function crash(): Promise<void> {
  await postgres.shutdown('immediate');
  await postgres.start();
  // A broken idle connection is found on first use: one throwaway query per pooled connection.
  for (let i = 0; i < 3; i++) await sql`select 1`.execute(db).catch(() => undefined);
}

describe('cursors across a crash restart of PostgreSQL', () => {
  it('sends a row whose xid the restart handed out again below the cursor', async () => {
    const config = await migrated('crash_floor');
    await insert(config, 'before');
    await notify();
    const first = await downloadAll(db, config, 'everything', {});
    expect([...first.rows.keys()]).toEqual(['before']);
    const floor = BigInt(decodeCursor(first.cursor!, 'contact').floor!);

    await crash();
    await insert(config, 'after');
    const { rows } = await sql<{ xid: string }>`
      select _carburetor_xid::text as xid from ${sql.table(config.tables.contact.sqlName)}
       where id = 'after'`.execute(db);
    // The case this test is about: the new row's xid is below the floor the cursor holds.
    expect(BigInt(rows[0]!.xid)).toBeLessThan(floor);

    const next = await downloadAll(
      db,
      config,
      'everything',
      {},
      { cursor: first.cursor, hasRows: true },
    );
    expect(next.rows.has('after')).toBe(true);
    // Lowered, not reset: no first download, nothing marked authoritative.
    expect(next.pages.every((p) => !p.tables['contact']!.reset)).toBe(true);
    // The cursor now belongs to the new run: the next download sends nothing again.
    const again = await downloadAll(
      db,
      config,
      'everything',
      {},
      { cursor: next.cursor, hasRows: true },
    );
    expect([...again.rows.keys()]).toEqual([]);
  }, 60_000);

  it('lowers a cursor across a clean restart too, sending again only rows since the last checkpoint', async () => {
    const config = await migrated('clean_restart');
    for (let i = 0; i < 20; i++) await insert(config, `old-${i}`);
    await sql`checkpoint`.execute(db);
    await insert(config, 'since-checkpoint');
    const first = await downloadAll(db, config, 'everything', {});
    expect(first.rows.size).toBe(21);
    await postgres.shutdown('fast');
    await postgres.start();
    for (let i = 0; i < 3; i++) await sql`select 1`.execute(db).catch(() => undefined);
    const next = await downloadAll(
      db,
      config,
      'everything',
      {},
      { cursor: first.cursor, hasRows: true },
    );
    // Only what was written since the last checkpoint before the cursor is sent again.
    expect([...next.rows.keys()]).toEqual(['since-checkpoint']);
  }, 60_000);
});
