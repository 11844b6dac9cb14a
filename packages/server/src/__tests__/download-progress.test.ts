import { type DownloadRequest, PROTOCOL_VERSION } from '@carburetor/core';
import { groupProtocol } from '@carburetor/core/schemas';
import { createTestDatabase } from '@carburetor/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadChanges } from '../download/download.ts';
import { countRemaining } from '../download/remaining-count.ts';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { contactsConfig } from './download-support.ts';

const database = await createTestDatabase('download_progress');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely<any>(database.url);
const config = contactsConfig('progress');

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

/** Inserts `count` contacts of `owner` in one statement, ids `<owner>-<n>`. */
async function insertContacts(owner: string, count: number, extra = '') {
  await sql`
    insert into progress_contacts (id, owner_id, name, published)
    select ${owner} || '-' || n || ${extra}, ${owner}, 'name ' || n, n % 2 = 0
    from generate_series(1, ${count}::int) as n`.execute(db);
}

function request(
  cursor: string | null,
  options: { protocol?: 1 | 2 | 3; estimate?: boolean; pageSize?: number } = {},
): DownloadRequest {
  return {
    protocol: options.protocol ?? PROTOCOL_VERSION,
    clientId: 'device-1',
    tables: {
      contact: {
        cursor,
        hasRows: false,
        ...(options.estimate === undefined ? {} : { estimate: options.estimate }),
      },
    },
    pageSize: options.pageSize ?? 10,
  };
}

const page = async (group: string, userId: string, req: DownloadRequest) =>
  (await downloadChanges(db, config, group, req, { userId })).tables['contact']!;

beforeAll(async () => {
  await migrateServer(db, config);
  await insertContacts('ann', 25);
  await insertContacts('bob', 40);
});

describe('progress of a first download (protocol 3)', () => {
  it("counts the caller's rows left on the first page, and only then unless asked", async () => {
    const first = await page('mine', 'ann', request(null));
    expect(first.rows).toHaveLength(10);
    expect(first.remaining).toEqual({ rows: 25, atLeast: false });

    const second = await page('mine', 'ann', request(first.cursor));
    expect(second.rows).toHaveLength(10);
    expect(second.remaining).toBeUndefined();

    // A client that lost its estimate (a reload) asks: counted from where the pass stands.
    const asked = await page('mine', 'ann', request(second.cursor, { estimate: true }));
    expect(asked.rows).toHaveLength(5);
    expect(asked.remaining).toEqual({ rows: 5, atLeast: false });
    expect(asked.hasMore).toBe(false);

    // A later pass is not a first download: no count, even when asked.
    const later = await page('mine', 'ann', request(asked.cursor, { estimate: true }));
    expect(later.remaining).toBeUndefined();
  });

  it("never counts another user's rows: bob's writes leave ann's estimate unchanged", async () => {
    const before = (await page('mine', 'ann', request(null))).remaining;
    await insertContacts('bob', 30, '-more');
    await sql`update progress_contacts set name = 'renamed' where owner_id = 'bob'`.execute(db);
    const after = (await page('mine', 'ann', request(null))).remaining;
    expect(before).toEqual({ rows: 25, atLeast: false });
    expect(after).toEqual(before);
    // Bob sees his own rows, and the filtered group only what passes its filter.
    expect((await page('mine', 'bob', request(null))).remaining).toEqual({
      rows: 70,
      atLeast: false,
    });
    const published = await sql<{ n: number }>`
      select count(*)::int as n from progress_contacts where published and not is_deleted`.execute(
      db,
    );
    expect((await page('directory', 'ann', request(null))).remaining).toEqual({
      rows: published.rows[0]!.n,
      atLeast: false,
    });
  });

  it('leaves deleted rows out of the count of a first download into an empty replica', async () => {
    await sql`update progress_contacts set is_deleted = true where id in ('ann-1', 'ann-2')`.execute(
      db,
    );
    const first = await page('mine', 'ann', request(null, { pageSize: 100 }));
    expect(first.rows).toHaveLength(23);
    expect(first.remaining).toEqual({ rows: 23, atLeast: false });
  });

  it('answers versions 1 and 2 as before: no count, and a request that asks for one is refused by name', async () => {
    for (const protocol of [1, 2] as const) {
      const old = await page('mine', 'ann', request(null, { protocol }));
      expect(old.rows).toHaveLength(10);
      expect(old).not.toHaveProperty('remaining');
    }
    const schema = groupProtocol(config, 'mine').downloadRequest;
    const refused = schema.safeParse(request(null, { protocol: 2, estimate: true }));
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toBe(
      '"estimate" needs protocol version 3 or later; this request says 2',
    );
    expect(refused.error?.issues[0]?.path).toEqual(['tables', 'contact', 'estimate']);
    expect(schema.safeParse(request(null, { estimate: true })).success).toBe(true);
    const notBoolean = schema.safeParse({
      ...request(null),
      tables: { contact: { cursor: null, hasRows: false, estimate: 'yes' } },
    });
    expect(notBoolean.success).toBe(false);
    expect(notBoolean.error?.issues[0]?.path).toEqual(['tables', 'contact', 'estimate']);
  });

  it('counts exactly up to the cap, and says "at least" past it', async () => {
    await insertContacts('cy', 25);
    const scope = [sql`owner_id = 'cy'`];
    expect(await countRemaining(db, 'progress_contacts', scope, 25)).toEqual({
      rows: 25,
      atLeast: false,
    });
    expect(await countRemaining(db, 'progress_contacts', scope, 24)).toEqual({
      rows: 24,
      atLeast: true,
    });
    expect(await countRemaining(db, 'progress_contacts', scope, 1)).toEqual({
      rows: 1,
      atLeast: true,
    });
  });

  it('counts a first download of 100,000 rows exactly, in well under a second', async () => {
    await insertContacts('cx', 100_000);
    const started = performance.now();
    const first = await page('mine', 'cx', request(null));
    const ms = performance.now() - started;
    expect(first.remaining).toEqual({ rows: 100_000, atLeast: false });
    expect(ms).toBeLessThan(5_000);
    console.info(`first page with a count over 100,000 rows: ${ms.toFixed(0)} ms`);
  }, 60_000);
});
