import { afterAll, describe, expect, test, vi } from 'vitest';
import { startSyncServer } from './sync-harness.ts';

const harness = await startSyncServer('client-sync-races');
afterAll(() => harness.stop());

const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with 'settled' or 'hung' after `ms`. */
const within = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    sleep(ms).then(() => 'hung'),
  ]);

describe('sync() from the app beside the realtime loop', () => {
  test('every sync() settles and the phase comes back to idle', async () => {
    const user = 'race-hammer';
    const b = await harness.client(user, { groups: ['private_contacts', 'directory'] });
    const a = await harness.client(user, { realtime: false });
    const calls: Promise<void>[] = [];
    const appSync = () => {
      const p = b.sync.sync();
      calls.push(p);
      p.catch(() => undefined);
    };
    // The demo's pattern: sync on every change event and status change, and on a timer.
    let stop = false;
    b.sync.onChange(() => {
      if (!stop) appSync();
    });
    b.sync.subscribe((s) => {
      if (!stop && s.phase === 'idle') appSync();
    });
    b.sync.start({ intervalMs: 50, debounceMs: 0 });
    await vi.waitFor(() => expect(b.sync.status.live).toBe(true), { timeout: 10_000 });

    const timer = setInterval(appSync, 3);
    const writerA = (async () => {
      for (let i = 0; !stop; i++) {
        await a.sync.insertPhoneBook(contact(user, `a${i}`));
        await a.sync.sync().catch(() => undefined);
      }
    })();
    const writerB = (async () => {
      for (let i = 0; !stop; i++) {
        await b.sync.insertPhoneBook(contact(user, `b${i}`));
        appSync();
        await sleep(i % 3);
      }
    })();
    await sleep(3_000);
    stop = true;
    clearInterval(timer);
    await writerA;
    await writerB;
    const results = await Promise.all(calls.map((c) => within(c, 10_000)));
    const hung = results.filter((r) => r === 'hung').length;
    expect({ calls: calls.length, hung }).toMatchObject({ hung: 0 });
    await vi.waitFor(() => expect(b.sync.status.phase).toBe('idle'), { timeout: 5_000 });
    await b.sync.stop();
    expect(await within(b.sync.sync(), 5_000)).toBe('settled');
    expect(b.sync.status).toMatchObject({ phase: 'idle', pendingCount: 0 });
  }, 40_000);
});

describe('a request that never gets an answer', () => {
  test('fails after requestTimeoutMs: sync() rejects, the phase is idle again, the next sync recovers', async () => {
    const user = 'race-timeout';
    const b = await harness.client(user, { realtime: false, requestTimeoutMs: 300 });
    await b.sync.insertPhoneBook(contact(user, 'held'));
    const held = b.gates.beforeUpload.arm();
    const started = performance.now();
    const sync = b.sync.sync();
    await held;
    expect(b.sync.status.phase).toBe('uploading');
    await expect(sync).rejects.toMatchObject({
      code: 'sync_failed',
      message: expect.stringContaining('no answer within 300 ms'),
    });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(b.sync.status).toMatchObject({ phase: 'idle', pendingCount: 1 });
    expect(b.sync.status.lastError?.message).toContain('no answer within 300 ms');
    b.gates.beforeUpload.release(); // its fetch was aborted: nothing reaches the server
    await b.sync.sync();
    expect(b.sync.status).toMatchObject({ phase: 'idle', pendingCount: 0, lastError: null });
  });

  test('requestTimeoutMs must be a positive number', async () => {
    await expect(
      harness.client('race-bad-timeout', { realtime: false, requestTimeoutMs: -1 }),
    ).rejects.toMatchObject({ code: 'invalid_options' });
  });
});
