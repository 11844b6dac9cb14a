import { type DownloadTablePage, PROTOCOL_VERSION, type ResolvedGroup } from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CursorState, decodeCursor } from '../download/cursor.ts';
import { readSnapshotHead } from '../download/database-history.ts';
import { type ContextValues, downloadChanges } from '../download/download.ts';
import { readPageWithHead } from '../download/page-with-head.ts';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { contactsConfig, downloadAll } from './download-support.ts';

// Pushes read a page in one statement (readPageWithHead) instead of a download's
// transaction: the same rows, tombstones and out-of-scope ids, and the same cursor, for
// every kind of group, across the pages of a pass; nothing from a cursor the head says
// cannot be taken as it is.

const database = await createTestDatabase('page_with_head');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
const config = contactsConfig('one_statement');
const contacts = sql.table(config.tables.contact.sqlName);

beforeAll(async () => {
  await migrateServer(db, config);
});
afterAll(async () => {
  await db.destroy();
  await database.drop();
});

const groups: [group: keyof typeof config.groups & string, context: ContextValues][] = [
  ['mine', { userId: 'u1' }],
  ['directory', {}],
  ['everything', {}],
];

/** A cursor as the push chain keeps it: without the fingerprint and config the read adds. */
function chainOf(text: string): Omit<CursorState, 'fingerprint' | 'config'> {
  const { fingerprint: _, config: __, ...chain } = decodeCursor(text, 'contact');
  return chain;
}

/**
 * The page without its floors: other test files write to the same PostgreSQL, so two
 * reads a moment apart may see different snapshot xmins (each is a correct floor).
 */
function withoutFloors(page: DownloadTablePage | undefined) {
  const { floor: _, pass, ...cursor } = decodeCursor(page!.cursor, 'contact');
  return {
    ...page,
    cursor: { ...cursor, pass: pass && { ...pass, floor: undefined } },
  };
}

describe('readPageWithHead', () => {
  it('reads what a download reads from the same cursor, page by page, in every kind of group', async () => {
    await sql`insert into ${contacts} (id, owner_id, name, published)
      select 'c' || lpad(n::text, 2, '0'), case when n % 2 = 0 then 'u1' else 'u2' end,
        'contact ' || n, n % 3 = 0
      from generate_series(1, 12) n`.execute(db);
    const caughtUp = new Map<string, string>();
    for (const [group, context] of groups) {
      caughtUp.set(group, (await downloadAll(db, config, group, context)).cursor!);
    }
    // Rows leave the filter, are deleted, change and arrive after the cursors.
    await sql`update ${contacts} set published = false where id in ('c03', 'c06')`.execute(db);
    await sql`update ${contacts} set is_deleted = true where id in ('c02', 'c09')`.execute(db);
    await sql`update ${contacts} set name = 'renamed' where id in ('c04', 'c12')`.execute(db);
    await sql`insert into ${contacts} (id, owner_id, name, published)
      values ('c13', 'u1', 'new', true), ('c14', 'u2', 'new', true)`.execute(db);

    for (const [group, context] of groups) {
      const resolved = (config.groups as Record<string, ResolvedGroup>)[group]!;
      for (const pageSize of [1_000, 2]) {
        let cursor = caughtUp.get(group)!;
        let pages = 0;
        for (let more = true; more; pages++) {
          const download = await downloadChanges(
            db,
            config,
            group,
            {
              protocol: PROTOCOL_VERSION,
              clientId: 'reader',
              tables: { contact: { cursor, hasRows: true } },
              pageSize,
            },
            context,
          );
          const expected = download.tables['contact']!;
          const { page } = await readPageWithHead(
            db,
            config,
            resolved,
            'contact',
            context,
            chainOf(cursor),
            pageSize,
          );
          expect(withoutFloors(page), `${group}, pages of ${pageSize}, page ${pages}`).toEqual(
            withoutFloors(expected),
          );
          cursor = expected.cursor;
          more = expected.hasMore;
        }
        // Something to see in every group, over more than one page of 2.
        expect(pages).toBeGreaterThan(pageSize === 2 ? 1 : 0);
      }
    }
  });

  it('leaves the page out for a cursor of another run or history, or beyond the next xid', async () => {
    const mine = (config.groups as Record<string, ResolvedGroup>)['mine']!;
    const head = await readSnapshotHead(db);
    const read = (cursor: Omit<CursorState, 'fingerprint' | 'config'>) =>
      readPageWithHead(db, config, mine, 'contact', { userId: 'u1' }, cursor, 10);
    const good = { floor: head.xmin, history: head.history, run: head.run! };
    expect((await read(good)).page).toBeDefined();
    const otherRun = { ...good, run: { started: '1', checkpointXid: head.xmin } };
    expect((await read(otherRun)).page).toBeUndefined();
    expect((await read({ ...good, history: '1.1' })).page).toBeUndefined();
    const ahead = { ...good, floor: (BigInt(head.nextXid) + 1_000n).toString() };
    const beyond = await read(ahead);
    expect(beyond.page).toBeUndefined();
    // The head comes either way: the chain starts over from it.
    expect(beyond.head.history).toBe(head.history);
  });

  it('runs as a prepared statement on the pg driver: parsed and planned once per connection', async () => {
    const mine = (config.groups as Record<string, ResolvedGroup>)['mine']!;
    // biome-ignore lint/suspicious/noExplicitAny: any schema
    const one: Kysely<any> = createPgKysely({ connectionString: database.url, max: 1 });
    try {
      const head = await readSnapshotHead(one);
      const chain = { floor: head.xmin, history: head.history, run: head.run! };
      for (const userId of ['u1', 'u2']) {
        const { page } = await readPageWithHead(
          one,
          config,
          mine,
          'contact',
          { userId },
          chain,
          10,
        );
        expect(page).toBeDefined();
      }
      const { rows } = await sql<{ statement: string }>`
        select statement from pg_prepared_statements`.execute(one);
      expect(rows.map((row) => row.statement.trim().split('\n')[0])).toEqual([
        'select snapshot_head.*, page_rows.* from (',
      ]);
    } finally {
      await one.destroy();
    }
  });
});
