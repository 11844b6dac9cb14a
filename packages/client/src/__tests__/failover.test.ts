import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPgKysely, createSyncRouter, migrateServer } from '@carburetor/server';
import { type PostgresServer, startPostgresServer } from '@carburetor/testing/postgres-server';
import { type StreamingStandby, startStreamingStandby } from '@carburetor/testing/standby';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import type { SyncClient } from '../client/types.ts';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
import { phoneBookConfig } from './fixtures.ts';

// Issue 24's failover: clients sync through a router that reads downloads from a streaming
// standby and the primary at random; the standby stops replaying, the clients go on writing
// (acknowledged by the primary, downloaded by one another), the primary dies, the standby that
// missed those writes is promoted and serves the app. Real PostgreSQL pair, real HTTP.

type Client = SyncClient<typeof phoneBookConfig, 'private_contacts'>;

let primary: PostgresServer;
let standby: StreamingStandby;
// biome-ignore lint/suspicious/noExplicitAny: raw SQL checks
const kyselys: Kysely<any>[] = [];
let http: Server | undefined;
let port = 0;
const drivers: MemoryDriver[] = [];
const clients: Client[] = [];

// biome-ignore lint/suspicious/noExplicitAny: any schema
function kysely(url: string): Kysely<any> {
  const db = createPgKysely(url);
  kyselys.push(db);
  return db;
}

/** Serves the sync router on the test's one port (the app restarted against another database). */
// biome-ignore lint/suspicious/noExplicitAny: any schema
async function serve(db: Kysely<any>, readDb?: () => Kysely<any>): Promise<void> {
  await closeHttp();
  const router = createSyncRouter(phoneBookConfig, {
    db,
    ...(readDb ? { readDb } : {}),
    context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
    onError: () => undefined,
  });
  const server = createHTTPServer({
    router,
    createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  http = server;
}

async function closeHttp(): Promise<void> {
  const current = http;
  http = undefined;
  if (!current) return;
  const closed = new Promise((resolve) => current.close(resolve));
  current.closeAllConnections();
  await closed;
}

async function client(): Promise<Client> {
  const trpcClient = createTRPCClient<AnyRouter>({
    links: [httpLink({ url: `http://127.0.0.1:${port}`, headers: { 'x-user': 'ada' } })],
  });
  const driver = memoryDriver();
  drivers.push(driver);
  const made = await createSyncClient(phoneBookConfig, {
    driver,
    trpcClient,
    groups: ['private_contacts'],
    realtime: false,
    pageSize: 5,
  });
  clients.push(made);
  return made;
}

/** Ada's live rows, id → name, as a client's replica holds them. */
async function replicaRows(c: Client): Promise<Map<string, string>> {
  const rows = await c.activePhoneBooks().select(['id', 'name']).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** Ada's live rows, id → name, as a database holds them. */
// biome-ignore lint/suspicious/noExplicitAny: any schema
async function serverRows(db: Kysely<any>): Promise<Map<string, string>> {
  const { rows } = await sql<{ id: string; name: string }>`
    select id, name from phone_books where owner_id = 'ada' and not record_deleted`.execute(db);
  return new Map(rows.map((r) => [r.id, r.name]));
}

const contact = (name: string) => ({ owner_id: 'ada', name, phone_number: '1' });

beforeAll(async () => {
  primary = await startPostgresServer();
  standby = await startStreamingStandby(primary);
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const d of drivers) await d.close().catch(() => undefined);
  await closeHttp();
  for (const db of kyselys) await db.destroy();
  await standby?.stop();
  await primary?.stop();
});

describe('failover to a standby that missed acknowledged writes', () => {
  test('every client converges with the new primary: lost rows, updates and deletions go, its rows come, pending writes reach it', async () => {
    const primaryDb = kysely(primary.url);
    const standbyDb = kysely(standby.url);
    await migrateServer(primaryDb, phoneBookConfig);
    await serve(primaryDb, () => (Math.random() < 0.5 ? primaryDb : standbyDb));
    const devices = [await client(), await client(), await client()];

    // A shared history: every device writes, every device holds every row, the standby too.
    for (const [n, d] of devices.entries()) {
      for (let i = 0; i < 4; i++) await d.insertPhoneBook(contact(`kept-${n}-${i}`));
    }
    await standby.catchUp();
    for (let round = 0; round < 2; round++) for (const d of devices) await d.sync();
    await standby.catchUp();
    for (const d of devices) await d.sync();
    for (const d of devices) expect((await replicaRows(d)).size).toBe(12);

    // The standby is cut off: what follows is acknowledged by the primary only.
    await standby.disconnect();
    for (const [n, d] of devices.entries()) {
      for (let i = 0; i < 3; i++) await d.insertPhoneBook(contact(`lost-${n}-${i}`));
      await d.sync();
    }
    // And an update and a deletion of rows the standby has: lost too.
    const shared = [...(await replicaRows(devices[0]!)).keys()].sort();
    await devices[0]!.updatePhoneBook(shared[0]!, { name: 'lost update' });
    await devices[0]!.deletePhoneBook(shared[1]!);
    await devices[0]!.sync();
    // Other writers move the primary's xids on, so the devices' cursors are well ahead.
    for (let i = 0; i < 30; i++) {
      await sql`insert into phone_books (id, owner_id, name, phone_number)
        values (${`lost-outside-${i}`}, 'ada', 'lost-outside', '1')`.execute(primaryDb);
    }
    // Pages read from the stalled standby miss them, pages from the primary bring them: late,
    // never lost, whatever the routing.
    for (const d of devices) {
      for (let round = 0; round < 40 && (await replicaRows(d)).size < 12 + 9 + 30 - 1; round++) {
        await d.sync();
      }
      expect((await replicaRows(d)).size).toBe(12 + 9 + 30 - 1);
    }

    // The primary dies; the standby that missed all of that is promoted, the app moves to it.
    await primary.shutdown('immediate');
    await standby.promote();
    await serve(standbyDb);
    // The new primary's own history: enough transactions that its next xid passes the floors
    // the devices hold (the case a floor-versus-next-xid check alone would let through).
    for (let i = 0; i < 120; i++) {
      await sql`insert into phone_books (id, owner_id, name, phone_number)
        values (${`new-${i}`}, 'ada', 'after failover', '1')`.execute(standbyDb);
    }
    // A write a device makes now is pending, not acknowledged: it must reach the new primary.
    const pending = await devices[0]!.insertPhoneBook(contact('pending-after-failover'));

    for (let round = 0; round < 2; round++) for (const d of devices) await d.sync();

    const truth = await serverRows(standbyDb);
    expect(truth.has(pending.id)).toBe(true);
    expect([...truth.values()].filter((name) => name.startsWith('lost-'))).toEqual([]);
    expect(truth.size).toBe(12 + 120 + 1);
    for (const d of devices) expect(await replicaRows(d)).toEqual(truth);
  }, 60_000);
});
