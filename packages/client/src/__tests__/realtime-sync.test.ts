import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { sql } from 'kysely';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { OnlineManager } from '../environment/online-manager.ts';
import { memoryDriver } from '../node/index.ts';
import type { SyncStatus } from '../sync/sync-status-store.ts';
import { phoneBookConfig } from './fixtures.ts';
import { startSyncServer } from './sync-harness.ts';

const harness = await startSyncServer('client-realtime');
afterAll(() => harness.stop());

const HOUR = 3_600_000;
const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let serial = 0;
const userOf = (what: string) => `rt-${what}-${++serial}`;

type Device = Awaited<ReturnType<typeof harness.client>>;

/** A listener that started its loop with an hour's interval: anything it gets came by a poke. */
async function listener(user: string, options: Parameters<typeof harness.client>[1] = {}) {
  const device = await harness.client(user, options);
  const statuses: SyncStatus[] = [];
  device.sync.subscribe((s) => statuses.push(s));
  device.sync.start({ intervalMs: HOUR });
  await waitLive(device);
  // The start's sync, then the download the connection's first poke queued behind it.
  await idle(device);
  await sleep(100);
  await idle(device);
  return { ...device, statuses };
}

const waitLive = (d: Device, live = true) =>
  vi.waitFor(() => expect(d.sync.status.live).toBe(live), { timeout: 10_000, interval: 5 });

const idle = (d: Device) =>
  vi.waitFor(() => expect(d.sync.status.phase).toBe('idle'), { timeout: 10_000, interval: 5 });

/** Waits (up to 10 s) until `id` is in the device's replica; returns how long it took. */
async function arrival(d: Device, id: string, from = performance.now()): Promise<number> {
  await vi.waitFor(
    async () => {
      const { rows } = await d.driver.execute('SELECT id FROM phone_books WHERE id = ?', [id]);
      expect(rows).toHaveLength(1);
    },
    { timeout: 10_000, interval: 2 },
  );
  return performance.now() - from;
}

describe('realtime: a poke downloads', () => {
  test("B gets A's upload without polling, downloading only", async () => {
    const user = userOf('basic');
    const b = await listener(user);
    const a = await harness.client(user, { realtime: false });
    const uploadsBefore = b.gates.calls.upload;
    const downloadsBefore = b.gates.calls.download;
    b.statuses.length = 0;

    const row = await a.sync.insertPhoneBook(contact(user, 'from A'));
    await a.sync.sync();
    const ms = await arrival(b, row.id);
    console.info(`A's upload → B's replica: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1_000);
    await idle(b);
    expect(b.gates.calls.download - downloadsBefore).toBe(1);
    expect(b.gates.calls.upload).toBe(uploadsBefore); // nothing pending: download only
    expect(b.sync.status).toMatchObject({ live: true, running: true, lastError: null });
    const phases = b.statuses.map((s) => s.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(['downloading', 'idle']);
  });

  test('across server instances (another router, hub and LISTEN connection) and for plain SQL', async () => {
    const other = await harness.instance();
    const user = userOf('cross');
    const b = await listener(user, { server: other });
    const a = await harness.client(user, { realtime: false }); // on the first instance

    const row = await a.sync.insertPhoneBook(contact(user, 'via instance 1'));
    await a.sync.sync();
    const ms = await arrival(b, row.id);
    console.info(`upload on instance 1 → listener on instance 2: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1_000);

    const start = performance.now();
    await sql`insert into phone_books (id, owner_id, name, phone_number)
      values (${`sql-${user}`}, ${user}, 'By SQL', '2')`.execute(harness.db);
    const bySql = await arrival(b, `sql-${user}`, start);
    console.info(`plain SQL insert → listener: ${bySql.toFixed(0)} ms`);
    expect(bySql).toBeLessThan(1_000);
  });

  test('a client made from `url` builds its own SSE link (eventsource package in Node 20)', async () => {
    expect((globalThis as { EventSource?: unknown }).EventSource).toBeUndefined();
    const driver = memoryDriver();
    const viewer = await createSyncClient(phoneBookConfig, {
      driver,
      url: harness.url,
      groups: ['directory'],
    });
    try {
      viewer.start({ intervalMs: HOUR });
      await vi.waitFor(() => expect(viewer.status.live).toBe(true), { timeout: 10_000 });
      const start = performance.now();
      await sql`insert into phone_books (id, owner_id, name, phone_number, published)
        values ('published-by-sql', 'someone', 'Public', '3', true)`.execute(harness.db);
      await vi.waitFor(
        async () => {
          const rows = await viewer
            .activePhoneBooks()
            .where('id', '=', 'published-by-sql')
            .execute();
          expect(rows).toHaveLength(1);
        },
        { timeout: 10_000, interval: 2 },
      );
      console.info(
        `url client, SQL insert → replica: ${(performance.now() - start).toFixed(0)} ms`,
      );
    } finally {
      await viewer.close();
      await driver.close();
    }
  });

  test('a burst of 10,000 rows makes a few downloads per client, and every row arrives', async () => {
    const user = userOf('burst');
    const b = await listener(user, { pageSize: 10_000 });
    const c = await listener(user, { pageSize: 10_000 });
    const before = [b.gates.calls.download, c.gates.calls.download];
    const start = performance.now();
    await sql`insert into phone_books (id, owner_id, name, phone_number)
      select ${`burst-${user}-`} || n, ${user}, 'Bulk ' || n, '4' from generate_series(1, 10000) n`.execute(
      harness.db,
    );
    for (const d of [b, c]) {
      await vi.waitFor(
        async () => {
          const { rows } = await d.driver.execute(
            'SELECT count(*) AS n FROM phone_books WHERE owner_id = ?',
            [user],
          );
          expect(rows[0]?.['n']).toBe(10_000);
        },
        { timeout: 10_000, interval: 20 },
      );
    }
    const ms = performance.now() - start;
    await idle(b);
    await idle(c);
    await sleep(300); // any late poke would show now
    const downloads = [b.gates.calls.download - before[0]!, c.gates.calls.download - before[1]!];
    console.info(
      `10,000 rows in one statement: in both replicas after ${ms.toFixed(0)} ms, downloads per client ${downloads.join(', ')}`,
    );
    for (const n of downloads) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(3);
    }
  });

  test('100 statements in a row: at most one download in flight and one queued', async () => {
    const user = userOf('statements');
    const b = await listener(user);
    let inFlight = 0;
    let most = 0;
    b.sync.subscribe((s) => {
      inFlight = s.phase === 'idle' ? 0 : 1;
      most = Math.max(most, inFlight);
    });
    const before = b.gates.calls.download;
    for (let n = 0; n < 100; n++) {
      await sql`insert into phone_books (id, owner_id, name, phone_number)
        values (${`stmt-${user}-${n}`}, ${user}, 'One', '5')`.execute(harness.db);
    }
    await arrival(b, `stmt-${user}-99`);
    await idle(b);
    await sleep(300);
    const downloads = b.gates.calls.download - before;
    console.info(`100 single-row statements: ${downloads} downloads`);
    expect(downloads).toBeLessThan(50);
    expect(most).toBe(1);
  });

  test('a poke while local writes wait runs a full sync (they go up too)', async () => {
    const user = userOf('pending');
    const b = await listener(user);
    b.sync.stop(); // keep the write pending: no debounce sync
    b.sync.start({ intervalMs: HOUR, debounceMs: HOUR });
    await waitLive(b);
    const mine = await b.sync.insertPhoneBook(contact(user, 'pending in B'));
    await sql`insert into phone_books (id, owner_id, name, phone_number)
      values (${`sql-${user}`}, ${user}, 'By SQL', '6')`.execute(harness.db);
    await arrival(b, `sql-${user}`);
    await vi.waitFor(async () => expect(await harness.serverRow(mine.id)).toBeDefined(), {
      timeout: 5_000,
    });
  });
});

describe('realtime: connections', () => {
  test('a killed LISTEN connection: the server recovers and pokes; later changes still arrive', async () => {
    const user = userOf('listen');
    const b = await listener(user);
    const a = await harness.client(user, { realtime: false });
    const downloads = b.gates.calls.download;
    const { rows } = await sql<{ killed: boolean }>`
      select pg_terminate_backend(pid) as killed from pg_stat_activity
      where datname = current_database() and query ilike 'LISTEN%'`.execute(harness.db);
    expect(rows.filter((r) => r.killed).length).toBeGreaterThanOrEqual(1);
    // Recovery pokes every subscriber (changes may have been missed): one more download.
    await vi.waitFor(() => expect(b.gates.calls.download).toBeGreaterThan(downloads), {
      timeout: 10_000,
      interval: 5,
    });
    expect(b.sync.status.live).toBe(true);
    const row = await a.sync.insertPhoneBook(contact(user, 'after the kill'));
    await a.sync.sync();
    expect(await arrival(b, row.id)).toBeLessThan(1_000);
  });

  test('the HTTP server goes away: live goes false, reconnects back off, then live again and changes arrive', async () => {
    const server = await harness.instance();
    const user = userOf('down');
    const errors: { at: number; message: string }[] = [];
    const b = await listener(user, {
      server,
      realtime: {
        backoff: { baseMs: 40, maxMs: 400 },
        onError: (e) => errors.push({ at: performance.now(), message: e.message }),
      },
    });
    const a = await harness.client(user, { realtime: false });

    // Only the SSE connection drops (the server keeps listening): back at once.
    await server.down();
    await waitLive(b, false);
    await server.up();
    await waitLive(b, true);

    // Down for a while: the attempts back off.
    errors.length = 0;
    await server.down();
    await waitLive(b, false);
    await sleep(1_500);
    const gaps = errors.slice(1).map((e, i) => e.at - errors[i]!.at);
    console.info(
      `reconnect attempts while down: ${errors.length}, gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`,
    );
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(errors.length).toBeLessThan(15); // 40 ms doubling to 400 ms: not a tight loop
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
    expect(b.sync.status.live).toBe(false);

    await server.up();
    await waitLive(b, true);
    const row = await a.sync.insertPhoneBook(contact(user, 'after the outage'));
    await a.sync.sync();
    expect(await arrival(b, row.id)).toBeLessThan(1_000);
  });

  test('offline closes the subscriptions, online reopens them', async () => {
    const online = new OnlineManager(() => undefined);
    const user = userOf('offline');
    const hubBefore = harness.main.hub.size;
    const b = await listener(user, { onlineManager: online });
    expect(harness.main.hub.size).toBe(hubBefore + 1);
    online.setOnline(false);
    expect(b.sync.status).toMatchObject({ online: false, live: false });
    await vi.waitFor(() => expect(harness.main.hub.size).toBe(hubBefore), { timeout: 5_000 });
    online.setOnline(true);
    await waitLive(b, true);
    expect(harness.main.hub.size).toBe(hubBefore + 1);
  });

  test('stop() closes the subscription and its retries', async () => {
    const server = await harness.instance();
    const user = userOf('stop');
    const b = await listener(user, { server, realtime: { backoff: { baseMs: 20, maxMs: 40 } } });
    expect(server.hub.size).toBe(1);
    await b.sync.stop();
    expect(b.sync.status).toMatchObject({ running: false, live: false });
    await vi.waitFor(() => expect(server.hub.size).toBe(0), { timeout: 5_000 });
    await sleep(300);
    expect(server.hub.size).toBe(0); // no reconnect after stop
    b.sync.start({ intervalMs: HOUR });
    await waitLive(b, true);
    await b.sync.close();
    expect(b.sync.status.live).toBe(false);
    await vi.waitFor(() => expect(server.hub.size).toBe(0), { timeout: 5_000 });
  });

  test('a process whose client went live exits by itself after stop() and close()', async () => {
    // tsx (a devDependency) runs the TypeScript child.
    const tsx = createRequire(import.meta.url).resolve('tsx/esm');
    const child = spawn(
      process.execPath,
      [
        '--conditions=@carburetor/source',
        '--import',
        pathToFileURL(tsx).href,
        fileURLToPath(new URL('./realtime-exit-child.ts', import.meta.url)),
        harness.url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let closedAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('closed') && closedAt === 0) closedAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill(), 20_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    const lingered = performance.now() - closedAt;
    console.info(`child exited ${lingered.toFixed(0)} ms after close()`);
    expect(out).toContain('closed');
    expect(code).toBe(0);
    expect(lingered).toBeLessThan(2_000);
  }, 30_000);

  test('realtime: false opens nothing; a trpcClient without a subscription link says so once and keeps polling', async () => {
    const user = userOf('off');
    const hubBefore = harness.main.hub.size;
    const off = await harness.client(user, { realtime: false });
    off.sync.start({ intervalMs: HOUR });
    await idle(off);
    await sleep(100);
    expect(harness.main.hub.size).toBe(hubBefore);
    expect(off.sync.status.live).toBe(false);
    await off.sync.stop();

    const errors: Error[] = [];
    const driver = memoryDriver();
    const plain = await createSyncClient(phoneBookConfig, {
      driver,
      trpcClient: createTRPCClient<AnyRouter>({
        links: [httpLink({ url: harness.url, headers: { 'x-user': user } })],
      }),
      groups: ['private_contacts'],
      realtime: { onError: (e) => errors.push(e) },
    });
    try {
      plain.start({ intervalMs: 50 });
      await sleep(400);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'invalid_options' });
      expect(errors[0]?.message).toMatch(/httpSubscriptionLink/);
      expect(plain.status).toMatchObject({ live: false, running: true, lastError: null });
      expect(plain.status.lastSyncedAt).not.toBeNull();
    } finally {
      await plain.close();
      await driver.close();
    }
  });
});
