import { rm } from 'node:fs/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromiumPath, freshProfile, launch, openPage } from './harness.ts';
import type { Session } from './page/main.ts';
import { type SyncSite, startSyncSite } from './sync-server.ts';

declare global {
  var session: Session;
}

let site: SyncSite;
const profiles: string[] = [];

beforeAll(async () => {
  chromiumPath();
  site = await startSyncSite('browser_tabs_sync');
});

afterAll(async () => {
  await site?.close();
  for (const dir of profiles) await rm(dir, { recursive: true, force: true });
});

async function browser(): Promise<BrowserContext> {
  const dir = await freshProfile();
  profiles.push(dir);
  return launch(dir);
}

/** A tab with a sync client on the shared replica `name`, its loop started. */
async function tab(
  context: BrowserContext,
  label: string,
  options: { name: string; user: string; intervalMs?: number; requestTimeoutMs?: number },
): Promise<Page> {
  const page = await openPage(
    context.pages().length === 1 && context.pages()[0]?.url() === 'about:blank'
      ? context
      : await context.newPage(),
    site.origin,
    label,
  );
  await page.evaluate(
    ({ name, user, tab, intervalMs, requestTimeoutMs }) =>
      carburetor.openClient({
        name,
        user,
        tab,
        start: { intervalMs, debounceMs: 50 },
        ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
      }),
    { ...options, tab: label, intervalMs: options.intervalMs ?? 60_000 },
  );
  return page;
}

function insert(page: Page, name: string) {
  return page.evaluate(async (name) => {
    const row = await session.client.insertPhoneBook({
      owner_id: session.user,
      name,
      phone_number: '555',
    });
    return row.id;
  }, name);
}

function localNames(page: Page) {
  return page.evaluate(async () =>
    (await session.client.activePhoneBooks().select('name').orderBy('name').execute()).map(
      (row) => row.name,
    ),
  );
}

const isOwner = (page: Page) => page.evaluate(() => session.driver.isOwner);

/** Console lines of a page, for "database is locked" checks. */
function consoleOf(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (message) => lines.push(message.text()));
  page.on('pageerror', (error) => lines.push(error.message));
  return lines;
}

describe('tabs share one replica', () => {
  test('each tab sees the other tab’s writes at once; closing the owner hands over the database and the sync loop', async () => {
    const context = await browser();
    const first = await tab(context, 'tab-a', { name: 'tabs', user: 'u-tabs' });
    const second = await tab(context, 'tab-b', { name: 'tabs', user: 'u-tabs' });
    const logs = [consoleOf(first), consoleOf(second)];
    expect(await isOwner(first)).toBe(true);
    expect(await isOwner(second)).toBe(false);
    // Only the owner's worker exists.
    expect(first.workers()).toHaveLength(1);
    expect(second.workers()).toHaveLength(0);

    // A write in one tab: the other's onChange fires, and its query shows the row.
    await insert(first, 'Ada');
    await second.waitForFunction(() =>
      session.changes.some((e) => e.source === 'local' && e.tables.includes('phone_book')),
    );
    expect(await localNames(second)).toEqual(['Ada']);
    await insert(second, 'Bea');
    await first.waitForFunction(() => session.changes.some((e) => e.source === 'local'));
    expect(await localNames(first)).toEqual(['Ada', 'Bea']);

    // Both at once, transactions included: no "database is locked", nothing lost.
    await Promise.all(
      [first, second].map((page, t) =>
        page.evaluate(async (t) => {
          for (let i = 0; i < 10; i++) {
            await session.client.transaction(async (tx) => {
              await tx.insertPhoneBook({
                owner_id: session.user,
                name: `t${t}-${i}`,
                phone_number: '1',
              });
              await tx.insertPhoneBook({
                owner_id: session.user,
                name: `t${t}-${i}b`,
                phone_number: '2',
              });
            });
          }
        }, t),
      ),
    );
    expect(await localNames(second)).toHaveLength(42);

    // Only the owner syncs; the other tab's writes reach the server through it.
    await expect.poll(() => site.serverNames('u-tabs'), { timeout: 10_000 }).toHaveLength(42);
    expect(site.requests.filter((r) => r.tab === 'tab-b')).toEqual([]);
    // Upload acknowledgements reach the other tab too: its pending count drops.
    await expect.poll(() => second.evaluate(() => session.client.status.pendingCount)).toBe(0);

    // The owner stops syncing, writes once more (pending), and closes.
    await first.evaluate(async () => {
      await session.client.stop();
      await session.client.insertPhoneBook({
        owner_id: session.user,
        name: 'Cy (pending at handoff)',
        phone_number: '3',
      });
    });
    await first.close();
    await second.waitForFunction(() => session.driver.isOwner, undefined, { timeout: 10_000 });
    expect(await second.evaluate(() => session.ownership)).toEqual([true]);
    expect(second.workers()).toHaveLength(1);
    await insert(second, 'Dee (after handoff)');
    // The new owner's loop took over: both pending rows reach the server.
    await expect.poll(() => site.serverNames('u-tabs'), { timeout: 10_000 }).toHaveLength(44);
    expect(await site.serverNames('u-tabs')).toEqual(await localNames(second));
    expect(site.requests.some((r) => r.tab === 'tab-b' && r.procedure.endsWith('.upload'))).toBe(
      true,
    );
    // The acknowledgement lands a moment after the server committed.
    await expect
      .poll(() => second.evaluate(() => session.client.status))
      .toMatchObject({ pendingCount: 0, lastError: null, running: true });
    expect(logs.flat().filter((line) => /locked|SQLITE_BUSY/i.test(line))).toEqual([]);
  });
});

/** Starts 150 one-row transactions in a tab's queue at once; resolves to each one's outcome. */
function writeMany(page: Page) {
  return page.evaluate(async () => {
    const driver = carburetor.opfsDriver({ name: 'handoff' });
    const outcomes = await Promise.all(
      Array.from({ length: 150 }, (_, n) =>
        driver
          .executeBatch([{ sql: 'INSERT INTO t (n) VALUES (?)', params: [n] }], {
            transaction: true,
          })
          .then(
            () => 'ok',
            (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
          ),
      ),
    );
    // What failed may or may not have committed: retry idempotently.
    for (const [n, outcome] of outcomes.entries()) {
      if (outcome !== 'ok') await driver.execute('INSERT OR IGNORE INTO t (n) VALUES (?)', [n]);
    }
    const { rows } = await driver.execute('SELECT count(*) AS n FROM t');
    return { outcomes, count: rows[0]?.['n'], owner: driver.isOwner };
  });
}

describe('ownership handoff under load', () => {
  test('calls in flight when the owner goes: re-routed on a clean close, failed (never hanging) on a crash', async () => {
    const context = await browser();
    const pages = await Promise.all(
      ['handoff-a', 'handoff-b', 'handoff-c'].map(async (label, i) =>
        openPage(i === 0 ? context : await context.newPage(), site.origin, label),
      ),
    );
    const [a, b, c] = pages as [Page, Page, Page];
    const logs = pages.map(consoleOf);
    await a.evaluate(() =>
      carburetor
        .opfsDriver({ name: 'handoff' })
        .execute('CREATE TABLE t (n INTEGER PRIMARY KEY)')
        .then(() => undefined),
    );
    await b.evaluate(() => carburetor.opfsDriver({ name: 'handoff' }).open());

    // The owner's tab dies while b's calls queue on it.
    const crashed = writeMany(b);
    await b.waitForTimeout(100);
    await a.close();
    const afterCrash = await crashed;
    expect(afterCrash.count).toBe(150);
    expect(afterCrash.owner).toBe(true);
    const failed = afterCrash.outcomes.filter((o) => o !== 'ok');
    for (const outcome of failed) expect(outcome).toMatch(/^crashed: The tab that held/);

    // A clean close (driver.close()) of the owner: c's calls move to the next owner.
    await c.evaluate(() =>
      carburetor
        .opfsDriver({ name: 'handoff' })
        .execute('DELETE FROM t')
        .then(() => undefined),
    );
    const moved = writeMany(c);
    await c.waitForTimeout(100);
    await b.evaluate(() => carburetor.opfsDriver({ name: 'handoff' }).close());
    const afterClose = await moved;
    expect(afterClose).toMatchObject({ count: 150, owner: true });
    expect(afterClose.outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(logs.flat().filter((line) => /locked|SQLITE_BUSY/i.test(line))).toEqual([]);
    console.log(
      `handoff: ${failed.length} of 150 calls in flight failed when the owner's tab closed; 0 of 150 on a clean close`,
    );
  });
});

describe('browser environment', () => {
  test('offline: nothing is sent; back online, pending writes upload at once', async () => {
    const context = await browser();
    const page = await tab(context, 'offline', { name: 'offline', user: 'u-offline' });
    await page.waitForFunction(() => session.client.status.lastSyncedAt !== null);
    const fromTab = () => site.requests.filter((r) => r.tab === 'offline').length;
    const before = fromTab();
    const fetchesBefore = await page.evaluate(() => session.fetches.count);

    await context.setOffline(true);
    // The window's `offline` event reached the online manager.
    await page.waitForFunction(() => session.client.status.online === false);
    for (const name of ['Off 1', 'Off 2', 'Off 3']) await insert(page, name);
    await page.waitForTimeout(1_500); // well past the 50 ms debounce
    expect(fromTab()).toBe(before);
    expect(await page.evaluate(() => session.fetches.count)).toBe(fetchesBefore);
    expect(await page.evaluate(() => session.client.status)).toMatchObject({
      pendingCount: 3,
      lastError: null,
    });

    const back = Date.now();
    await context.setOffline(false);
    await expect
      .poll(() => site.serverNames('u-offline'), { timeout: 2_000, interval: 50 })
      .toEqual(['Off 1', 'Off 2', 'Off 3']);
    const uploaded = site.requests.find((r) => r.tab === 'offline' && r.at >= back);
    expect(uploaded?.procedure).toBe('private_contacts.upload');
    expect(uploaded!.at - back).toBeLessThan(2_000);
    expect(await page.evaluate(() => session.client.status.online)).toBe(true);
  });

  test('a tab that becomes visible again syncs at once', async () => {
    const context = await browser();
    const page = await tab(context, 'visible', { name: 'visible', user: 'u-visible' });
    await page.waitForFunction(() => session.client.status.lastSyncedAt !== null);
    const count = () => site.requests.filter((r) => r.tab === 'visible').length;
    const before = count();
    // Headless tabs are always visible (bringToFront changes nothing): play the
    // document's own event, which bubbles to the window like the real one.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    });
    await page.waitForTimeout(300);
    expect(count()).toBe(before);
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    });
    await expect.poll(count, { timeout: 2_000, interval: 50 }).toBeGreaterThan(before);
  });
});

/** Opens `n` event streams from the page to the origin that the server holds open. */
function holdStreams(page: Page, n: number) {
  return page.evaluate(async (n) => {
    const page = globalThis as { held?: EventSource[] };
    page.held ??= [];
    const held = page.held;
    for (let i = 0; i < n; i++) {
      const stream = new EventSource(`/trpc/hold?n=${held.length}`);
      held.push(stream);
      await new Promise((resolve) => {
        stream.onopen = resolve;
      });
    }
  }, n);
}

describe('connections held by event streams', () => {
  // The demo's bug: the client's realtime streams in the owning tab (one per
  // group) plus the app's own poke subscriptions in each tab used all 6
  // HTTP/1.1 connections of the origin (shared by the tabs); the upload then
  // waited in Chromium's queue forever and the owner stayed 'uploading'.
  test('a request the browser never sends fails after requestTimeoutMs; the sync settles and recovers', async () => {
    const context = await browser();
    const options = { name: 'held', user: 'u-held', requestTimeoutMs: 1_000 };
    const owner = await tab(context, 'held-a', options);
    const other = await tab(context, 'held-b', options);
    await owner.waitForFunction(() => session.client.status.lastSyncedAt !== null);
    await holdStreams(owner, 2);
    await holdStreams(other, 4);
    const outcome = await owner.evaluate(async () => {
      await session.client.stop();
      await session.client.insertPhoneBook({
        owner_id: session.user,
        name: 'Held',
        phone_number: '1',
      });
      const started = performance.now();
      return Promise.race([
        session.client.sync().then(
          () => 'synced',
          (error: { code?: string; message?: string }) =>
            `${error.code} after ${Math.round((performance.now() - started) / 500) * 500} ms: ${error.message}`,
        ),
        new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000)),
      ]);
    });
    expect(outcome).toMatch(
      /^sync_failed after 1000 ms: The upload of sync group "private_contacts" failed: no answer within 1000 ms/,
    );
    expect(await owner.evaluate(() => session.client.status)).toMatchObject({
      phase: 'idle',
      pendingCount: 1,
      lastError: { message: expect.stringContaining('no answer within 1000 ms') },
    });
    // The streams close: the next sync goes through.
    await other.evaluate(() => {
      for (const stream of (globalThis as { held?: EventSource[] }).held ?? []) stream.close();
    });
    await owner.evaluate(() => session.client.sync());
    expect(await site.serverNames('u-held')).toEqual(['Held']);
    expect(await owner.evaluate(() => session.client.status)).toMatchObject({
      phase: 'idle',
      pendingCount: 0,
      lastError: null,
    });
  });
});
