import type { Server } from 'node:http';
import { createTestDatabase, testRedisUrl } from '@carburetor/testing';
import { type RedisServer, startRedisServer } from '@carburetor/testing/redis-server';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import type { ChangeBus } from '../realtime/change-bus.ts';
import { type ChangeHub, createChangeHub } from '../realtime/change-hub.ts';
import { createRedisChangeBus } from '../realtime/redis-bus.ts';
import { createSyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { type ContactsConfig, contactsConfig } from './download-support.ts';
import {
  insertContact,
  serveStandalone,
  sleep,
  subscribeOverHttp,
  syncClient,
  type TestContext,
  type TestSubscriber,
  until,
} from './realtime-support.ts';

// Realtime across two server instances (two routers, each with its own hub and bus
// connections, as two processes would have) on one database, on each bus.

const database = await createTestDatabase('realtime_bus');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const admin: Kysely<any> = createPgKysely(database.url);

afterAll(async () => {
  await admin.destroy();
  await database.drop();
});

interface Instance {
  readonly url: string;
  readonly hub: ChangeHub;
  readonly errors: unknown[];
}

/** Two instances of one config, each with its own pool, hub and bus (from `bus()`). */
async function twoInstances(config: ContactsConfig, bus: () => ChangeBus | undefined) {
  const servers: Server[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: any schema
  const pools: Kysely<any>[] = [];
  const subscribers: TestSubscriber[] = [];
  const start = async (): Promise<Instance> => {
    const db = createPgKysely(database.url);
    pools.push(db);
    const errors: unknown[] = [];
    const given = bus();
    const hub = createChangeHub(config, {
      db,
      ...(given ? { bus: given } : {}),
      onError: (error) => errors.push(error),
      retryDelayMs: { initial: 50, max: 500 },
    });
    const router = createSyncRouter(config, {
      db,
      context: (ctx: TestContext) => ({ userId: ctx.user }),
      changes: hub,
    });
    const served = await serveStandalone(router);
    servers.push(served.server);
    return { url: served.url, hub, errors };
  };
  const a = await start();
  const b = await start();
  return {
    a,
    b,
    subscribe(...args: Parameters<typeof subscribeOverHttp>) {
      const s = subscribeOverHttp(...args);
      subscribers.push(s);
      return s;
    },
    async close() {
      for (const s of subscribers) s.close();
      await Promise.all([a.hub.close(), b.hub.close()]);
      for (const server of servers) {
        server.close();
        server.closeAllConnections();
      }
      await Promise.all(pools.map((db) => db.destroy()));
    },
  };
}

const buses = [
  { name: 'PostgreSQL LISTEN/NOTIFY', prefix: 'bus_pg', bus: () => undefined },
  {
    name: 'Redis pub/sub',
    prefix: 'bus_redis',
    bus: () => createRedisChangeBus({ url: testRedisUrl(), channel: 'carburetor_test_changes' }),
  },
] as const;

describe.each(buses)('realtime across two server instances on $name', ({ prefix, bus }) => {
  const config = contactsConfig(prefix);
  let pair: Awaited<ReturnType<typeof twoInstances>>;

  beforeAll(async () => {
    await migrateServer(admin, config);
    pair = await twoInstances(config, bus);
  });
  afterAll(() => pair.close());

  it('an upload through either instance pokes the subscribers of both, each only in its scope', async () => {
    const everyoneOnA = pair.subscribe(pair.a.url, 'everything');
    const aliceOnB = pair.subscribe(pair.b.url, 'mine', 'alice');
    const bobOnA = pair.subscribe(pair.a.url, 'mine', 'bob');
    await Promise.all([everyoneOnA.waitFor(1), aliceOnB.waitFor(1), bobOnA.waitFor(1)]);

    await syncClient(pair.a.url, 'alice').mine.upload.mutate(insertContact('x1', 'alice'));
    await Promise.all([everyoneOnA.waitFor(2, 1_000), aliceOnB.waitFor(2, 1_000)]);
    await syncClient(pair.b.url, 'bob').mine.upload.mutate(insertContact('x2', 'bob'));
    await Promise.all([everyoneOnA.waitFor(3, 1_000), bobOnA.waitFor(2, 1_000)]);
    await sleep(300);
    expect(aliceOnB.pokes).toHaveLength(2); // bob's row never reached her
    expect(bobOnA.pokes).toHaveLength(2); // nor hers him
    expect(aliceOnB.pokes[1]?.tables).toEqual(['contact']);
  });

  it('the instance that took an upload pokes its own subscribers at once, and once: its own message coming back on the bus is skipped', async () => {
    const onA = pair.subscribe(pair.a.url, 'mine', 'dave');
    const onB = pair.subscribe(pair.b.url, 'mine', 'dave');
    await Promise.all([onA.waitFor(1), onB.waitFor(1)]);
    await syncClient(pair.a.url, 'dave').mine.upload.mutate(insertContact('echo1', 'dave'));
    await Promise.all([onA.waitFor(2, 1_000), onB.waitFor(2, 1_000)]);
    // Past the coalescing window (50 ms): an echo would have made a second poke by now.
    await sleep(300);
    expect(onA.pokes).toHaveLength(2);
    expect(onB.pokes).toHaveLength(2);
  });

  it("an admin's plain SQL reaches the subscribers of both instances", async () => {
    const onA = pair.subscribe(pair.a.url, 'mine', 'carol');
    const onB = pair.subscribe(pair.b.url, 'mine', 'carol');
    await Promise.all([onA.waitFor(1), onB.waitFor(1)]);
    await sql`insert into ${sql.table(`${prefix}_contacts`)} (id, owner_id, name) values ('sql1', 'carol', 'By SQL')`.execute(
      admin,
    );
    await Promise.all([onA.waitFor(2, 1_000), onB.waitFor(2, 1_000)]);
  });
});

describe('the Redis bus going away and coming back (redis-server killed and restarted)', () => {
  const config = contactsConfig('bus_redis_kill');
  let redis: RedisServer;
  let pair: Awaited<ReturnType<typeof twoInstances>>;

  beforeAll(async () => {
    await migrateServer(admin, config);
    // Its own redis-server: the run's shared one must stay up for the other files.
    redis = await startRedisServer();
    pair = await twoInstances(config, () => createRedisChangeBus({ url: redis.url }));
  });
  afterAll(async () => {
    await pair.close();
    await redis.stop();
  });

  it('keeps acknowledging uploads, pokes everyone once it is back, then propagates again', async () => {
    const onA = pair.subscribe(pair.a.url, 'everything');
    const onB = pair.subscribe(pair.b.url, 'mine', 'dave');
    await Promise.all([onA.waitFor(1), onB.waitFor(1)]);
    await syncClient(pair.a.url, 'dave').mine.upload.mutate(insertContact('k0', 'dave'));
    await Promise.all([onA.waitFor(2, 1_000), onB.waitFor(2, 1_000)]);

    await redis.kill();
    await sleep(200);
    expect(pair.a.hub.connected).toBe(false);
    expect(pair.b.hub.connected).toBe(false);
    // Realtime is down; uploads are not: they commit and are acknowledged.
    const during = await syncClient(pair.a.url, 'dave').mine.upload.mutate(
      insertContact('k1', 'dave'),
    );
    expect(during.tables['contact']?.results[0]?.ok).toBe(true);
    await sleep(300);
    expect(onB.pokes).toHaveLength(2); // the announcement of k1 was lost with the bus

    await redis.start();
    // Back: both hubs resubscribe and poke every subscriber, covering what was missed.
    await Promise.all([onA.waitFor(3, 5_000), onB.waitFor(3, 5_000)]);
    expect(onB.pokes[2]?.tables).toEqual(['contact']);
    // The recovery poke may go out just before a hub marks itself connected.
    await until(() => pair.a.hub.connected && pair.b.hub.connected, 5_000, 'both hubs connected');
    expect(pair.a.errors.length).toBeGreaterThan(0);

    await syncClient(pair.b.url, 'dave').mine.upload.mutate(insertContact('k2', 'dave'));
    await Promise.all([onA.waitFor(4, 2_000), onB.waitFor(4, 2_000)]);
  });
});
