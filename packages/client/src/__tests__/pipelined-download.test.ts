import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { afterAll, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { memoryDriver } from '../node/index.ts';
import { PIPELINED_PAGE_SIZE } from '../sync/download.ts';
import { phoneBookConfig } from './fixtures.ts';
import { startSyncServer } from './sync-harness.ts';

// Issue 25: a download of large pages asks for the next page while it
// applies the last one, both of half the page size, so a reload still costs
// at most one page (the half being applied and the half in flight).

const harness = await startSyncServer('pipelined_download');
afterAll(() => harness.stop());

const ROWS = 5_000;
const PAGE = PIPELINED_PAGE_SIZE;

/**
 * A fetch that records, for each download request, the page size it asked
 * for and the phone_book rows the client had applied when it went out
 * (`applied()`), and how many download requests were in flight at once.
 */
function watchedFetch(applied: () => number) {
  const seen = { inFlight: 0, most: 0, pageSizes: [] as number[], appliedAtStart: [] as number[] };
  const watched: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.includes('.download')) return fetch(input, init);
    const body = JSON.parse(String(init?.body ?? '{}')) as { pageSize?: number };
    seen.pageSizes.push(body.pageSize ?? -1);
    seen.appliedAtStart.push(applied());
    seen.inFlight++;
    seen.most = Math.max(seen.most, seen.inFlight);
    try {
      const response = await fetch(input, init);
      // Counted in flight until the answer is read, as the client reads it.
      return new Response(await response.arrayBuffer(), {
        status: response.status,
        headers: response.headers,
      });
    } finally {
      seen.inFlight--;
    }
  };
  return { seen, watched };
}

/**
 * `rows` rows of `user` on the server, and a fresh replica that downloads
 * them in pages of `pageSize` through a watched fetch; `progress` hears
 * each status's phone_book entry.
 */
async function readerOf(user: string, rows: number, pageSize: number) {
  const writer = await harness.client(user, { realtime: false });
  await writer.sync.insertPhoneBooks(
    Array.from({ length: rows }, (_, i) => ({
      owner_id: user,
      name: `row ${String(i).padStart(5, '0')}`,
      phone_number: String(i),
    })),
  );
  await writer.sync.sync();
  await writer.sync.close();

  let applied = 0;
  const { seen, watched } = watchedFetch(() => applied);
  const driver = memoryDriver();
  const reader = await createSyncClient(phoneBookConfig, {
    driver,
    trpcClient: createTRPCClient<AnyRouter>({
      links: [httpLink({ url: harness.url, headers: { 'x-user': user }, fetch: watched })],
    }),
    groups: ['private_contacts'],
    pageSize,
  });
  const progress: number[] = [];
  reader.subscribe((status) => {
    const p = status.progress.find((e) => e.table === 'phone_book');
    if (p && p.done !== progress.at(-1)) progress.push(p.done);
    applied = p?.done ?? applied;
  });
  const count = async () =>
    Number((await driver.execute('SELECT count(*) AS n FROM phone_books')).rows[0]?.['n']);
  const close = async () => {
    await reader.close();
    await driver.close();
  };
  return { reader, seen, progress, count, close };
}

test('a first download of large pages asks for the next half page while it applies one; every row arrives once, progress only moves on', async () => {
  const { reader, seen, progress, count, close } = await readerOf('pipelined-user', ROWS, PAGE);
  await reader.sync();

  // Each request after the first goes out before the page before it is applied:
  // one request in flight while one page is applied, never two requests.
  const half = PAGE / 2;
  expect(seen.appliedAtStart).toEqual(seen.appliedAtStart.map((_, i) => Math.max(0, i - 1) * half));
  expect(seen.appliedAtStart.length).toBeGreaterThanOrEqual(ROWS / half);
  expect(seen.most).toBe(1);
  expect(new Set(seen.pageSizes)).toEqual(new Set([half]));
  expect(await count()).toBe(ROWS);
  // Each page applied once: the entries downloaded add up to the rows.
  const downloaded = reader
    .recentActivity()
    .filter((a) => a.kind === 'download')
    .reduce((sum, a) => sum + a.rows, 0);
  expect(downloaded).toBe(ROWS);
  expect(progress).toEqual(Array.from({ length: ROWS / half }, (_, i) => (i + 1) * half));
  expect(reader.status.hasSynced).toBe(true);
  await close();
});

test('smaller pages go one at a time, at the size asked for', async () => {
  const { reader, seen, count, close } = await readerOf('sequential-user', 300, 100);
  await reader.sync();
  // Each request goes out once the page before it is in.
  expect(seen.appliedAtStart).toEqual(seen.appliedAtStart.map((_, i) => i * 100));
  expect(seen.most).toBe(1);
  expect(new Set(seen.pageSizes)).toEqual(new Set([100]));
  expect(await count()).toBe(300);
  await close();
});
