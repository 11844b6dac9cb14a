import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ChangeHub,
  createChangeHub,
  createPgKysely,
  createSyncRouter,
  migrateServer,
} from '@carburetor/server';
import { createTestDatabase, type TestDatabase } from '@carburetor/testing';
import {
  createTRPCClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCLink,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { memoryDriver } from '../node/index.ts';
import { phoneBookConfig } from './fixtures.ts';

// Issue 24 from the client: a server that reads downloads from standbys tells, with each
// poke, where the primary's WAL stood after the change; the client's download of it names
// that position (`after`), so a standby answers it only once it has replayed the change.
// Pushes off here: every event is a poke without pages.

let database: TestDatabase;
// biome-ignore lint/suspicious/noExplicitAny: any schema
let db: Kysely<any>;
let hub: ChangeHub;
let server: Server;
let url: string;

beforeAll(async () => {
  database = await createTestDatabase('client-realtime-standby');
  db = createPgKysely(database.url);
  await migrateServer(db, phoneBookConfig);
  hub = createChangeHub(phoneBookConfig, { db, pushes: false, onError: () => undefined });
  const router = createSyncRouter(phoneBookConfig, {
    db,
    // The primary given as the read database: the router reads "standbys" all the same.
    readDb: db,
    changes: hub,
    context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
  });
  server = createHTTPServer({
    router,
    createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await hub?.close();
  await db?.destroy();
  await database?.drop();
});

/** A device of `user` whose tRPC client records the input of every download it sends. */
async function device(user: string) {
  const downloads: Record<string, unknown>[] = [];
  const recording: TRPCLink<AnyRouter> =
    () =>
    ({ op, next }) => {
      if (op.path.endsWith('.download')) downloads.push(op.input as Record<string, unknown>);
      return next(op);
    };
  const trpcClient = createTRPCClient<AnyRouter>({
    links: [
      recording,
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init.headers, 'x-user': user } }),
          },
        }),
        false: httpLink({ url, headers: { 'x-user': user } }),
      }),
    ],
  });
  const client = await createSyncClient(phoneBookConfig, {
    driver: memoryDriver(),
    trpcClient,
    groups: ['private_contacts'],
  });
  return { client, downloads };
}

async function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("a poked download names the change's WAL position, so a standby serves it only once replayed", async () => {
  const a = await device('standby-user');
  const b = await device('standby-user');
  try {
    // An hour's interval: what B downloads after this comes from pokes.
    for (const d of [a, b]) d.client.start({ intervalMs: 3_600_000 });
    await until(() => a.client.status.live && b.client.status.live, 'realtime to be live');
    await until(() => b.client.status.hasSynced, "B's first sync");
    // The subscription's first event (every table, nothing announced) also downloads: let it pass.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = b.downloads.length;

    await a.client.insertPhoneBook({
      owner_id: 'standby-user',
      name: 'told by a poke',
      phone_number: '1',
    });
    await until(
      async () =>
        (await b.client.activePhoneBooks().where('name', '=', 'told by a poke').execute())
          .length === 1,
      'the row on B',
    );
    const poked = b.downloads.slice(before);
    expect(poked.length).toBeGreaterThan(0);
    for (const input of poked) expect(input['after']).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  } finally {
    await a.client.close();
    await b.client.close();
  }
});
