import { type ChildProcess, fork } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createTestDatabase } from '@carburetor/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { createChangeHub } from '../realtime/change-hub.ts';
import { createSyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { contactsConfig } from './download-support.ts';
import {
  serveStandalone,
  sleep,
  subscribeOverHttp,
  type TestContext,
  until,
} from './realtime-support.ts';

const SUBSCRIBERS = 1_000;

const database = await createTestDatabase('realtime_load');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
const config = contactsConfig('load_rt');
const hub = createChangeHub(config, { db });
const router = createSyncRouter(config, {
  db,
  context: (ctx: TestContext) => ({ userId: ctx.user }),
  changes: hub,
});
let served: Awaited<ReturnType<typeof serveStandalone>>;
let clients: ChildProcess | undefined;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settledMemory() {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage();
}

interface ClientMessage {
  type: 'poked' | 'report' | 'closed' | 'error';
  pokes?: number[];
  message?: string;
}

/** The next message of a type from the clients' process. */
function nextMessage(child: ChildProcess, type: ClientMessage['type']): Promise<ClientMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ClientMessage) => {
      if (message.type === 'error') reject(new Error(message.message));
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
}

beforeAll(async () => {
  await migrateServer(db, config);
  served = await serveStandalone(router);
});

afterAll(async () => {
  clients?.kill();
  await hub.close();
  served.server.close();
  served.server.closeAllConnections();
  await db.destroy();
  await database.drop();
});

describe('1,000 concurrent subscribers in one server process', () => {
  it('holds them over real HTTP, pokes each in its scope, and frees them all', async () => {
    // Warm up the server and the hub, so the baseline holds their fixed costs.
    const warm = subscribeOverHttp(served.url, 'everything');
    await warm.waitFor(1);
    const before = await settledMemory();

    // The subscribers live in a process of their own: this one measures the server alone.
    const child = fork(new URL('./fixtures/sse-clients.mjs', import.meta.url), {
      stdio: 'inherit',
    });
    clients = child;
    const started = performance.now();
    const listening = nextMessage(child, 'poked');
    child.send({ type: 'open', url: served.url, count: SUBSCRIBERS });
    await listening;
    const connectedIn = performance.now() - started;
    expect(hub.size).toBe(SUBSCRIBERS + 1);
    const after = await settledMemory();
    const perSubscriber = (key: 'heapUsed' | 'rss') =>
      ((after[key] - before[key]) / SUBSCRIBERS / 1024).toFixed(1);
    console.info(
      `${SUBSCRIBERS} SSE subscribers connected in ${connectedIn.toFixed(0)} ms; server memory per subscriber: heap ${perSubscriber('heapUsed')} KiB, rss ${perSubscriber('rss')} KiB`,
    );

    // One write of user-1: every open subscriber and user-1's hear of it, no other user.
    const shouldHear = (n: number) => n % 2 === 0 || n % 10 === 1;
    const poked = nextMessage(child, 'poked');
    child.send({
      type: 'expect',
      counts: Array.from({ length: SUBSCRIBERS }, (_, n) => (shouldHear(n) ? 2 : 1)),
    });
    const pokeStart = performance.now();
    await sql`insert into load_rt_contacts (id, owner_id, name) values ('x1', 'user-1', 'One')`.execute(
      db,
    );
    await poked;
    console.info(
      `one change reached ${SUBSCRIBERS / 2 + SUBSCRIBERS / 10} subscribers in ${(performance.now() - pokeStart).toFixed(0)} ms`,
    );
    await sleep(200);
    const report = nextMessage(child, 'report');
    child.send({ type: 'report' });
    const { pokes } = await report;
    expect(pokes?.map((count, n) => count === (shouldHear(n) ? 2 : 1)).every(Boolean)).toBe(true);

    const closed = nextMessage(child, 'closed');
    child.send({ type: 'close' });
    await closed;
    warm.close();
    await until(() => hub.size === 0, 10_000, 'every subscriber to leave the hub');
    child.kill();
  });
});
