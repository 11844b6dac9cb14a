import { defineSyncConfig, table, text } from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { createChangeHub } from '../realtime/change-hub.ts';
import { createSyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { CHANGES_CHANNEL } from '../schema/names.ts';
import { filterKey } from '../schema/scope-exits.ts';
import { contactsConfig } from './download-support.ts';
import {
  insertContact,
  serveRouteHandler,
  serveStandalone,
  sleep,
  subscribeOverHttp,
  syncClient,
  type TestContext,
  type TestSubscriber,
  until,
} from './realtime-support.ts';

const database = await createTestDatabase('realtime');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
const config = contactsConfig('rt');
const context = (ctx: TestContext) => ({ userId: ctx.user });

// Instance A: the app's own hub, on the Node standalone adapter.
const hubErrors: unknown[] = [];
const hub = createChangeHub(config, {
  db,
  onError: (e) => hubErrors.push(e),
  retryDelayMs: { initial: 50 },
});
const routerA = createSyncRouter(config, { db, context, changes: hub });
// Instance B: another router with the hub it makes itself (its own LISTEN connection, as in
// another server process), behind a Next.js-style route handler.
const otherDb: Kysely<unknown> = createPgKysely(database.url);
const routerB = createSyncRouter(config, {
  db: otherDb,
  context,
  changes: { onError: () => {}, retryDelayMs: { initial: 50 }, idleTimeoutMs: 100 },
});

let a = { url: '', server: undefined as unknown as import('node:http').Server };
let b = { url: '', server: undefined as unknown as import('node:http').Server };
const open: TestSubscriber[] = [];
function subscriber(...args: Parameters<typeof subscribeOverHttp>): TestSubscriber {
  const s = subscribeOverHttp(...args);
  open.push(s);
  return s;
}

/** Counts what arrives on the channel, on a connection of its own. */
const watcher = new pg.Client({ connectionString: database.url });
const notifications: string[] = [];
let watcherPid = 0;

beforeAll(async () => {
  await migrateServer(db, config);
  a = await serveStandalone(routerA);
  b = await serveRouteHandler(routerB);
  await watcher.connect();
  watcher.on('notification', (m) => notifications.push(m.payload ?? ''));
  watcherPid = (await watcher.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!
    .pid;
  await watcher.query(`LISTEN ${CHANGES_CHANNEL}`);
});

afterAll(async () => {
  for (const s of open) s.close();
  await until(() => hub.size === 0, 5_000, 'subscribers to leave');
  await hub.close();
  await watcher.end();
  a.server.close();
  b.server.close();
  a.server.closeAllConnections();
  b.server.closeAllConnections();
  await db.destroy();
  await otherDb.destroy();
  await database.drop();
});

describe('<group>.changes over real HTTP', () => {
  it('pokes a subscriber within a few hundred ms of an upload through the router', async () => {
    const sub = subscriber(a.url, 'everything');
    await sub.waitFor(1); // the first poke: listening, download now
    expect(sub.pokes[0]?.tables).toEqual(['contact']);
    const start = performance.now();
    await syncClient(a.url, 'alice').mine.upload.mutate(insertContact('u1', 'alice'));
    const acked = performance.now();
    await sub.waitFor(2, 500);
    expect(sub.pokes[1]?.tables).toEqual(['contact']);
    console.info(
      `upload→poke: ${(sub.pokes[1]!.at - acked).toFixed(1)} ms after the ack, ${(sub.pokes[1]!.at - start).toFixed(1)} ms after the request`,
    );
  });

  it('pokes across router instances (another hub and LISTEN connection), Next-style handler included, and for plain SQL', async () => {
    const onA = subscriber(a.url, 'everything');
    const onB = subscriber(b.url, 'everything');
    await Promise.all([onA.waitFor(1), onB.waitFor(1)]);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and query ilike 'LISTEN%'`.execute(db);
    expect(rows[0]?.n).toBe(3); // hub A, router B's own hub, this file's watcher

    await syncClient(b.url, 'bob').mine.upload.mutate(insertContact('u2', 'bob'));
    await Promise.all([onA.waitFor(2, 500), onB.waitFor(2, 500)]);

    await sql`insert into rt_contacts (id, owner_id, name) values ('s1', 'carol', 'By SQL')`.execute(
      db,
    );
    await Promise.all([onA.waitFor(3, 500), onB.waitFor(3, 500)]);
    await sql`update rt_contacts set name = 'Fixed by SQL' where id = 's1'`.execute(db);
    await Promise.all([onA.waitFor(4, 500), onB.waitFor(4, 500)]);
    expect(onA.pokes.at(-1)?.tables).toEqual(['contact']);
  });

  it("tells a restricted subscriber nothing of another user's rows, but of its own", async () => {
    const alice = subscriber(a.url, 'mine', 'alice');
    const bob = subscriber(b.url, 'mine', 'bob');
    await Promise.all([alice.waitFor(1), bob.waitFor(1)]);
    await syncClient(a.url, 'bob').mine.upload.mutate(insertContact('p1', 'bob', 'Private'));
    await sql`update rt_contacts set phone = '555' where id = 'p1'`.execute(db);
    await bob.waitFor(2, 500);
    await sleep(600);
    expect(alice.pokes).toHaveLength(1);

    await syncClient(b.url, 'alice').mine.upload.mutate(insertContact('p2', 'alice', 'Mine'));
    await alice.waitFor(2, 500);
    expect(alice.pokes[1]?.tables).toEqual(['contact']);
  });

  it('tells a filtered subscriber only of rows in its filter or leaving it, never of private ones', async () => {
    const directory = subscriber(a.url, 'directory', 'bob');
    await directory.waitFor(1);
    // Alice's private row: written, edited, edited by SQL: nothing for Bob's directory.
    await syncClient(a.url, 'alice').mine.upload.mutate(insertContact('f1', 'alice', 'Private'));
    await sql`update rt_contacts set phone = '1' where id = 'f1'`.execute(db);
    await sleep(600);
    expect(directory.pokes).toHaveLength(1);
    // Published: in the filter now.
    await sql`update rt_contacts set published = true where id = 'f1'`.execute(db);
    await directory.waitFor(2, 2_000);
    await sleep(100);
    // Unpublished: it leaves the filter, and Bob must drop it.
    await sql`update rt_contacts set published = false where id = 'f1'`.execute(db);
    await directory.waitFor(3, 2_000);
    // Private again: its edits are nobody's business.
    await sql`update rt_contacts set phone = '2' where id = 'f1'`.execute(db);
    await sleep(600);
    expect(directory.pokes).toHaveLength(3);
  });

  it('a restricted and filtered scope hears only of its own rows in the filter or leaving it', async () => {
    const scoped = defineSyncConfig({
      tables: {
        contact: table(
          { plural: 'rt_team_contacts' },
          { owner_id: text().immutable(), team: text().default('red') },
        ),
      },
      syncGroups: {
        my_red: {
          contact: {
            restrictTo: { column: 'owner_id', context: 'userId' },
            filter: { team: 'red' },
          },
        },
      },
    });
    await migrateServer(db, scoped);
    const teamHub = createChangeHub(scoped, { db, coalesceMs: 0 });
    const pokes: Record<string, number> = { alice: 0, bob: 0 };
    const stops = ['alice', 'bob'].map((user) =>
      teamHub.subscribe('my_red', { userId: user }, () => {
        pokes[user]!++;
      }),
    );
    try {
      await teamHub.ready();
      const settle = () => sleep(300);
      await sql`insert into rt_team_contacts (id, owner_id, team) values ('t1', 'alice', 'blue')`.execute(
        db,
      );
      await settle();
      expect(pokes).toEqual({ alice: 0, bob: 0 });
      await sql`update rt_team_contacts set team = 'red' where id = 't1'`.execute(db);
      await settle();
      expect(pokes).toEqual({ alice: 1, bob: 0 });
      await sql`update rt_team_contacts set team = 'green' where id = 't1'`.execute(db);
      await settle();
      expect(pokes).toEqual({ alice: 2, bob: 0 });
      await sql`insert into rt_team_contacts (id, owner_id) values ('t2', 'bob')`.execute(db);
      await settle();
      expect(pokes).toEqual({ alice: 2, bob: 1 });
    } finally {
      for (const stop of stops) stop();
      await teamHub.close();
    }
  });

  it('answers UNAUTHORIZED to a restricted subscriber without context', async () => {
    const anonymous = subscriber(a.url, 'mine');
    await until(() => anonymous.errors.length > 0, 5_000, 'an error');
    expect(anonymous.errors[0]?.data?.code).toBe('UNAUTHORIZED');
    expect(anonymous.pokes).toHaveLength(0);
  });

  it('sends one NOTIFY per statement (10,000 rows), none for a rollback, and few pokes for a burst', async () => {
    const sub = subscriber(a.url, 'everything');
    const alice = subscriber(a.url, 'mine', 'alice');
    await Promise.all([sub.waitFor(1), alice.waitFor(1)]);
    await sleep(100);
    notifications.length = 0;

    await sql`insert into rt_contacts (id, owner_id, name)
      select 'bulk-' || n, 'owner-' || n, 'Bulk ' || n from generate_series(1, 10000) n`.execute(
      db,
    );
    await sub.waitFor(2, 2_000);
    await sleep(200);
    expect(notifications).toHaveLength(1);
    // Too many owners to list; none of the rows is in the directory's filter.
    expect(JSON.parse(notifications[0]!)).toEqual({
      v: 1,
      changes: [
        {
          t: 'rt_contacts',
          r: { owner_id: '*' },
          s: { [`${filterKey({ published: true })}:`]: false },
        },
      ],
    });
    expect(sub.pokes).toHaveLength(2);
    expect(alice.pokes).toHaveLength(2); // "many" reaches every restricted subscriber

    // A statement that changes nothing, and a rolled-back one, notify nobody.
    await sql`update rt_contacts set name = name where id like 'bulk-%'`.execute(db);
    await db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into rt_contacts (id, owner_id, name) values ('gone', 'alice', 'x')`.execute(
          trx,
        );
        throw new Error('roll back');
      })
      .catch(() => {});
    await sleep(200);
    expect(notifications).toHaveLength(1);

    // A burst: 100 statements, each its own notification, merged into few pokes.
    notifications.length = 0;
    const before = sub.pokes.length;
    for (let n = 0; n < 100; n++) {
      await sql`update rt_contacts set rank = ${n + 1} where id = ${`bulk-${n + 1}`}`.execute(db);
    }
    await until(() => notifications.length === 100, 2_000, '100 notifications');
    await sleep(200);
    const burstPokes = sub.pokes.length - before;
    console.info(`burst of 100 statements: ${burstPokes} pokes to one subscriber`);
    expect(burstPokes).toBeGreaterThanOrEqual(1);
    expect(burstPokes).toBeLessThanOrEqual(10);
    expect(JSON.parse(notifications[0]!)).toEqual({
      v: 1,
      changes: [
        {
          t: 'rt_contacts',
          r: { owner_id: ['owner-1'] },
          s: { [`${filterKey({ published: true })}:`]: false },
        },
      ],
    });
  });

  it('announces uploads after their commit, one message per window, and no trigger NOTIFYs inside an upload', async () => {
    const sub = subscriber(b.url, 'everything');
    await sub.waitFor(1);
    await sleep(100);
    notifications.length = 0;
    const owners = Array.from({ length: 20 }, (_, i) => `burst-owner-${i}`);
    const started = performance.now();
    await Promise.all(
      owners.map((owner) =>
        syncClient(a.url, owner).mine.upload.mutate(insertContact(`burst-${owner}`, owner)),
      ),
    );
    const elapsed = performance.now() - started;
    await sub.waitFor(2, 1_000);
    await sleep(200);
    // About one message per 50 ms window of hub A, whatever the number of uploads in it.
    console.info(
      `20 concurrent uploads in ${elapsed.toFixed(0)} ms: ${notifications.length} messages`,
    );
    expect(notifications.length).toBeGreaterThanOrEqual(1);
    expect(notifications.length).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 2);
    const announced = notifications.flatMap((text) =>
      (JSON.parse(text) as { changes: { t: string; r: { owner_id: string[] } }[] }).changes.flatMap(
        (change) => change.r.owner_id,
      ),
    );
    expect(new Set(announced)).toEqual(new Set(owners));

    // A transaction marked as an upload is left to announce itself: the triggers send nothing.
    notifications.length = 0;
    await db.transaction().execute(async (trx) => {
      await sql`select set_config('carburetor.upload', 'on', true)`.execute(trx);
      await sql`insert into rt_contacts (id, owner_id, name) values ('marked', 'erin', 'x')`.execute(
        trx,
      );
    });
    await sleep(200);
    expect(notifications).toHaveLength(0);
  });

  it('notices a killed LISTEN connection, reconnects, pokes everyone once, and pokes again on changes', async () => {
    const onA = subscriber(a.url, 'everything');
    const onB = subscriber(b.url, 'mine', 'dave');
    await Promise.all([onA.waitFor(1), onB.waitFor(1)]);
    const errorsBefore = hubErrors.length;
    const { rows } = await sql<{ killed: boolean }>`
      select pg_terminate_backend(pid) as killed from pg_stat_activity
      where datname = current_database() and query ilike 'LISTEN%' and pid <> ${watcherPid}`.execute(
      db,
    );
    expect(rows.filter((r) => r.killed)).toHaveLength(2);
    // Recovery pokes both, with every table of their group.
    await Promise.all([onA.waitFor(2, 3_000), onB.waitFor(2, 3_000)]);
    expect(onB.pokes[1]?.tables).toEqual(['contact']);
    expect(hubErrors.length).toBeGreaterThan(errorsBefore);
    expect(hub.connected).toBe(true);

    await syncClient(a.url, 'dave').mine.upload.mutate(insertContact('k1', 'dave'));
    await Promise.all([onA.waitFor(3, 500), onB.waitFor(3, 500)]);
  });

  it('frees the hub entry of every subscriber whose request closed', async () => {
    for (const s of open.splice(0)) s.close();
    await until(() => hub.size === 0, 5_000, 'the hub to have no subscribers');
    expect(hub.size).toBe(0);
  });
});
