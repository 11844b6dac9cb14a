import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { OnlineManager } from '../environment/online-manager.ts';
import { VisibilityManager } from '../environment/visibility-manager.ts';
import { memoryDriver } from '../node/index.ts';
import type { ChangeEvent } from '../sync/change-emitter.ts';
import type { SyncStatus } from '../sync/sync-status-store.ts';
import { phoneBookConfig } from './fixtures.ts';
import { startSyncServer } from './sync-harness.ts';

const harness = await startSyncServer('client-background');
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  await harness.stop();
});

const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client over real HTTP whose network the test can cut (a fetch failure made on purpose). */
async function device(user: string) {
  const net = { down: false, delayMs: 0, requests: [] as { at: number; upload: boolean }[] };
  const flakyFetch: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    net.requests.push({ at: performance.now(), upload: url.includes('.upload') });
    if (net.down) throw new TypeError('fetch failed (test: server unreachable)');
    if (net.delayMs > 0) await sleep(net.delayMs);
    return fetch(input, init);
  };
  const online = new OnlineManager(() => undefined);
  const visibility = new VisibilityManager(() => undefined);
  const driver = memoryDriver();
  const client = await createSyncClient(phoneBookConfig, {
    driver,
    trpcClient: createTRPCClient<AnyRouter>({
      links: [httpLink({ url: harness.url, headers: { 'x-user': user }, fetch: flakyFetch })],
    }),
    groups: ['private_contacts'],
    // Request counts and backoff timings here are the loop's alone (realtime-sync.test.ts covers pokes).
    realtime: false,
    onlineManager: online,
    visibilityManager: visibility,
  });
  const statuses: SyncStatus[] = [];
  const events: ChangeEvent[] = [];
  client.subscribe((s) => statuses.push(s));
  client.onChange((e) => events.push(e));
  closers.push(async () => {
    await client.close();
    await driver.close();
  });
  return { client, net, online, visibility, statuses, events };
}

const settled = (d: Awaited<ReturnType<typeof device>>) =>
  vi.waitFor(
    () => {
      expect(d.client.status).toMatchObject({ phase: 'idle', pendingCount: 0 });
      expect(d.client.status.lastSyncedAt).not.toBeNull();
    },
    { timeout: 5_000, interval: 10 },
  );

describe('status', () => {
  test('pending rises on writes and returns to 0; phases go uploading → downloading → idle', async () => {
    const d = await device('status-user');
    const first = d.client.status;
    expect(first).toEqual({
      online: true,
      phase: 'idle',
      pendingCount: 0,
      downloadedInSync: 0,
      lastSyncedAt: null,
      hasSynced: false,
      progress: [],
      lastError: null,
      rejectedCount: 0,
      running: false,
      live: false,
    });
    expect(Object.isFrozen(first)).toBe(true);
    expect(d.client.status).toBe(first); // same object while nothing changes

    const row = await d.client.insertPhoneBook(contact('status-user', 'Ada'));
    expect(d.client.status.pendingCount).toBe(1);
    await d.client.updatePhoneBook(row.id, { note: 'still one pending row' });
    await d.client.transaction(async (tx) => {
      await tx.insertPhoneBook(contact('status-user', 'Bea'));
      await tx.insertNote({ owner_id: 'status-user', body: 'b' });
    });
    expect(d.client.status.pendingCount).toBe(3);

    d.statuses.length = 0;
    await d.client.sync();
    const phases = d.statuses.map((s) => s.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(['uploading', 'downloading', 'idle']);
    expect(d.client.status).toMatchObject({
      pendingCount: 0,
      downloadedInSync: 3,
      lastError: null,
    });
    expect(Date.parse(d.client.status.lastSyncedAt ?? '')).toBeGreaterThan(Date.now() - 10_000);

    // A refused row is counted as rejected, not pending, until it is changed again.
    const forged = await d.client.insertPhoneBook(contact('someone-else', 'forged'));
    await d.client.sync();
    expect(d.client.status).toMatchObject({ pendingCount: 0, rejectedCount: 1 });
    await d.client.updatePhoneBook(forged.id, { note: 'try again' });
    expect(d.client.status).toMatchObject({ pendingCount: 1, rejectedCount: 0 });
    await d.client.sync();
    expect(d.client.status).toMatchObject({ pendingCount: 0, rejectedCount: 1 });
    await d.client.discard(forged.id);
    expect(d.client.status).toMatchObject({ pendingCount: 0, rejectedCount: 0 });
  });

  test('a failing server: retries back off, lastError is set, and the next success clears it', async () => {
    const d = await device('down-user');
    d.client.start({ intervalMs: 60_000, debounceMs: 10, backoff: { baseMs: 60, maxMs: 5_000 } });
    await settled(d);
    const before = d.client.status.lastSyncedAt;
    d.net.down = true;
    const mark = d.net.requests.length;
    const row = await d.client.insertPhoneBook(contact('down-user', 'offline edit'));
    await vi.waitFor(() => expect(d.net.requests.length - mark).toBeGreaterThanOrEqual(5), {
      timeout: 5_000,
      interval: 5,
    });
    const at = d.net.requests.slice(mark, mark + 5).map((r) => r.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // Waits double, jittered in their upper half ([30, 60], [60, 120], [120, 240], [240, 480] ms),
    // so each is at least the one before it; compared two apart, with room for a busy machine.
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!);
    expect(gaps[3]!).toBeGreaterThan(gaps[1]!);
    expect(gaps[3]!).toBeGreaterThan(gaps[0]! * 2);
    expect(d.client.status.lastError?.message).toMatch(/fetch failed/);
    expect(d.client.status).toMatchObject({ pendingCount: 1, phase: 'idle', running: true });
    expect(d.client.status.lastSyncedAt).toBe(before);

    d.net.down = false;
    await vi.waitFor(() => expect(d.client.status.lastError).toBeNull(), {
      timeout: 5_000,
      interval: 10,
    });
    expect(d.client.status.pendingCount).toBe(0);
    expect(d.client.status.lastSyncedAt! > before!).toBe(true);
    expect(await harness.serverRow(row.id)).toMatchObject({ name: 'offline edit' });
    await d.client.stop();
    expect(d.client.status.running).toBe(false);
  });
});

describe('background loop', () => {
  test('a write syncs soon without sync(); offline nothing goes out; back online it uploads at once', async () => {
    const d = await device('bg-user');
    d.client.start({ intervalMs: 60_000, debounceMs: 20 });
    d.client.start(); // idempotent
    await settled(d);
    expect(d.client.status.running).toBe(true);

    const started = performance.now();
    const row = await d.client.insertPhoneBook(contact('bg-user', 'soon'));
    await vi.waitFor(async () => expect(await harness.serverRow(row.id)).toBeDefined(), {
      timeout: 3_000,
      interval: 10,
    });
    expect(performance.now() - started).toBeLessThan(2_000);
    await settled(d);

    d.online.setOnline(false);
    expect(d.client.status.online).toBe(false);
    const sent = d.net.requests.length;
    const offline = await d.client.insertPhoneBook(contact('bg-user', 'written offline'));
    await sleep(250);
    expect(d.net.requests.length).toBe(sent);
    expect(d.client.status.pendingCount).toBe(1);
    d.online.setOnline(true);
    await vi.waitFor(async () => expect(await harness.serverRow(offline.id)).toBeDefined(), {
      timeout: 1_000,
      interval: 10,
    });
    await settled(d);

    // Coming back to the app syncs too.
    const before = d.net.requests.length;
    d.visibility.setVisible(false);
    d.visibility.setVisible(true);
    await vi.waitFor(() => expect(d.net.requests.length).toBeGreaterThan(before), {
      timeout: 1_000,
      interval: 10,
    });
    await settled(d);

    // Stopped: writes stay local and no timer fires.
    await d.client.stop();
    await d.client.stop();
    expect(d.client.status.running).toBe(false);
    const quiet = d.net.requests.length;
    await d.client.insertPhoneBook(contact('bg-user', 'after stop'));
    await sleep(150);
    expect(d.net.requests.length).toBe(quiet);

    // close() during a sync waits for it to finish, then refuses further work.
    d.net.delayMs = 100;
    const lastSynced = d.client.status.lastSyncedAt!;
    d.statuses.length = 0;
    d.client.start({ intervalMs: 60_000 });
    await vi.waitFor(() => expect(d.statuses.some((s) => s.phase === 'uploading')).toBe(true), {
      interval: 1,
    });
    await d.client.close();
    expect(d.client.status).toMatchObject({ running: false, phase: 'idle', pendingCount: 0 });
    expect(d.client.status.lastSyncedAt! > lastSynced).toBe(true);
    await expect(d.client.sync()).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('change events', () => {
  test('name exactly the tables whose rows changed, and nothing for a sync that changed nothing', async () => {
    const a = await device('events-user');
    const b = await device('events-user');
    await a.client.sync();
    await b.client.sync();

    const row = await a.client.insertPhoneBook(contact('events-user', 'one'));
    expect(a.events).toEqual([{ tables: ['phone_book'], source: 'local' }]);
    await a.client.transaction(async (tx) => {
      await tx.insertNote({ owner_id: 'events-user', body: 'n' });
      await tx.updatePhoneBook(row.id, { note: 'x' });
    });
    await expect(a.client.updatePhoneBook(row.id, { name: '' })).rejects.toThrow();
    expect(a.events.slice(1)).toEqual([{ tables: ['phone_book', 'note'], source: 'local' }]);

    a.events.length = 0;
    await a.client.sync(); // acknowledgements change both tables; the re-sent rows change nothing
    expect(a.events).toEqual([{ tables: ['phone_book', 'note'], source: 'sync' }]);
    await b.client.sync();
    a.events.length = 0;
    b.events.length = 0;

    await a.client.insertNote({ owner_id: 'events-user', body: 'only notes' });
    await a.client.sync();
    await b.client.sync();
    expect(b.events).toEqual([{ tables: ['note'], source: 'sync' }]);
    b.events.length = 0;
    await b.client.sync();
    await a.client.sync();
    expect(b.events).toEqual([]);
    expect(a.events).toEqual([
      { tables: ['note'], source: 'local' },
      { tables: ['note'], source: 'sync' },
    ]);
  });
});
