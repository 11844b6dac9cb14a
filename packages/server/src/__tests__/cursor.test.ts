import {
  type DownloadRequest,
  defineSyncConfig,
  PROTOCOL_VERSION,
  table,
  text,
} from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { type Kysely, type KyselyPlugin, sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { downloadChanges } from '../download/download.ts';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { contactsConfig, downloadAll } from './download-support.ts';

const database = await createTestDatabase('cursor');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
// A second, independent connection: the concurrent writer.
const writer = new pg.Client({ connectionString: database.url });
await writer.connect();

afterAll(async () => {
  await writer.end();
  await db.destroy();
  await database.drop();
});

describe('download cursor (two real connections)', () => {
  it('returns a row whose transaction began before a download and committed after it', async () => {
    const config = contactsConfig('race');
    await migrateServer(db, config);
    await writer.query('begin');
    await writer.query(`insert into race_contacts (id, owner_id, name) values ('late', 'u1', 'l')`);
    // Committed after the writer took its transaction id, so it sorts after the writer's row.
    await sql`insert into race_contacts (id, owner_id, name) values ('early', 'u1', 'e')`.execute(
      db,
    );
    const during = await downloadAll(db, config, 'everything', {});
    await writer.query('commit');
    expect([...during.rows.keys()]).toEqual(['early']);

    const after = await downloadAll(
      db,
      config,
      'everything',
      {},
      {
        cursor: during.cursor,
        hasRows: true,
      },
    );
    expect([...after.rows.keys()]).toContain('late');
    // And once caught up, nothing more comes on a quiet database.
    const quiet = await downloadAll(
      db,
      config,
      'everything',
      {},
      {
        cursor: after.cursor,
        hasRows: true,
      },
    );
    expect(quiet.received).toEqual([]);
  });

  it('returns a row committed between two pages of one pass, behind the pass position', async () => {
    const config = contactsConfig('pages');
    await migrateServer(db, config);
    // The writer takes its transaction id first, so its row sorts before the ones committed next.
    await writer.query('begin');
    await writer.query(
      `insert into pages_contacts (id, owner_id, name) values ('late', 'u1', 'l')`,
    );
    for (const id of ['a', 'b', 'c']) {
      await sql`insert into pages_contacts (id, owner_id, name) values (${id}, 'u1', 'x')`.execute(
        db,
      );
    }
    const request = (cursor: string | null): DownloadRequest => ({
      protocol: PROTOCOL_VERSION,
      clientId: 'race',
      tables: { contact: { cursor, hasRows: cursor !== null } },
      pageSize: 2,
    });
    const first = await downloadChanges(db, config, 'everything', request(null), {});
    expect(first.hasMore).toBe(true);
    await writer.query('commit');
    const second = await downloadChanges(
      db,
      config,
      'everything',
      request(first.tables['contact']!.cursor),
      {},
    );
    expect(second.hasMore).toBe(false);
    const pass = [...first.tables['contact']!.rows, ...second.tables['contact']!.rows].map(
      (r) => r[0],
    );
    expect(pass.sort()).toEqual(['a', 'b', 'c']);

    const next = await downloadAll(
      db,
      config,
      'everything',
      {},
      {
        cursor: second.tables['contact']!.cursor,
        hasRows: true,
      },
    );
    expect([...next.rows.keys()]).toContain('late');
  });

  it('delivers 10,000 rows paged by 1,000 exactly once each on a quiet database', async () => {
    const config = contactsConfig('bulk');
    await migrateServer(db, config);
    await sql`insert into bulk_contacts (id, owner_id, name)
      select 'r' || lpad(n::text, 5, '0'), 'u1', 'name ' || n from generate_series(1, 10000) n`.execute(
      db,
    );
    const got = await downloadAll(db, config, 'everything', {}, { cursor: null }, 1000);
    expect(got.received.length).toBe(10_000);
    expect(new Set(got.received).size).toBe(10_000);
    expect(got.pages.length).toBe(10);
    const again = await downloadAll(
      db,
      config,
      'everything',
      {},
      { cursor: got.cursor, hasRows: true },
    );
    expect(again.received).toEqual([]);
  });

  it('reads every table of one page from one snapshot', async () => {
    const config = defineSyncConfig({
      tables: {
        order: table({ plural: 'snap_orders' }, { label: text() }),
        line: table({ plural: 'snap_lines' }, { order_id: text() }),
      },
      syncGroups: { shop: { order: true, line: true } },
    });
    await migrateServer(db, config);
    // After the first table's rows are read, a writer commits an order with its line.
    let interleaved = false;
    const commitBetweenTables: KyselyPlugin = {
      transformQuery: (args) => args.node,
      async transformResult(args) {
        if (!interleaved && args.result.rows.some((r) => 'k' in r)) {
          interleaved = true;
          await writer.query('begin');
          await writer.query(`insert into snap_orders (id, label) values ('o2', 'new')`);
          await writer.query(`insert into snap_lines (id, order_id) values ('l2', 'o2')`);
          await writer.query('commit');
        }
        return args.result;
      },
    };
    await sql`insert into snap_orders (id, label) values ('o1', 'old')`.execute(db);
    await sql`insert into snap_lines (id, order_id) values ('l1', 'o1')`.execute(db);
    const page = await downloadChanges(
      db.withPlugin(commitBetweenTables),
      config,
      'shop',
      {
        protocol: PROTOCOL_VERSION,
        clientId: 'snap',
        tables: { order: { cursor: null, hasRows: false }, line: { cursor: null, hasRows: false } },
      },
      {},
    );
    expect(interleaved).toBe(true);
    expect(page.tables['order']!.rows.map((r) => r[0])).toEqual(['o1']);
    // Without one snapshot the line of the new order would be here, its order not.
    expect(page.tables['line']!.rows.map((r) => r[0])).toEqual(['l1']);
  });
});
