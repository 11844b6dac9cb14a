import { afterAll, describe, expect, test } from 'vitest';
import {
  type DownloadProgress,
  needsEstimate,
  progressAfterPage,
  totalProgress,
} from '../sync/download-progress.ts';
import { FaultyNetwork, openFaultyClient } from './fault-fetch.ts';
import { startSyncServer } from './sync-harness.ts';

// status.progress (issue 25): a first download's rows done and expected, per
// (group, table), counted by the server in the caller's scope.

const page = (delivered: number, rest: Partial<Parameters<typeof progressAfterPage>[4]> = {}) => ({
  delivered,
  hasMore: true,
  reset: false,
  ...rest,
});
const progressOf = (p: DownloadProgress | undefined) =>
  p && { done: p.done, expected: p.expected, atLeast: p.atLeast, complete: p.complete };

describe('progress rules', () => {
  test('done grows by what each page delivers; expected is what the server counted from the page it came with', () => {
    let p = progressAfterPage(
      undefined,
      'g',
      't',
      true,
      page(10, { remaining: { rows: 25, atLeast: false } }),
    );
    expect(progressOf(p)).toEqual({ done: 10, expected: 25, atLeast: false, complete: false });
    p = progressAfterPage(p, 'g', 't', true, page(10));
    expect(progressOf(p)).toEqual({ done: 20, expected: 25, atLeast: false, complete: false });
    // A count asked for again (after a reload) starts at the page: done so far plus what is left.
    p = progressAfterPage(p, 'g', 't', true, page(3, { remaining: { rows: 9, atLeast: false } }));
    expect(progressOf(p)).toEqual({ done: 23, expected: 29, atLeast: false, complete: false });
    p = progressAfterPage(p, 'g', 't', true, page(6, { hasMore: false }));
    expect(progressOf(p)).toEqual({ done: 29, expected: 29, atLeast: false, complete: true });
  });

  test('rows written during the download never take progress over 100%; the last page makes it exact', () => {
    let p = progressAfterPage(
      undefined,
      'g',
      't',
      true,
      page(10, { remaining: { rows: 12, atLeast: false } }),
    );
    p = progressAfterPage(p, 'g', 't', true, page(10));
    expect(progressOf(p)).toMatchObject({ done: 20, expected: 20 });
    p = progressAfterPage(p, 'g', 't', true, page(1, { hasMore: false }));
    expect(progressOf(p)).toMatchObject({ done: 21, expected: 21, complete: true });
  });

  test('a reset starts again; a page outside a first download has no progress', () => {
    const p = progressAfterPage(
      undefined,
      'g',
      't',
      true,
      page(10, { remaining: { rows: 50, atLeast: false } }),
    );
    const reset = progressAfterPage(
      p,
      'g',
      't',
      false,
      page(4, { reset: true, remaining: { rows: 8, atLeast: false } }),
    );
    expect(progressOf(reset)).toEqual({ done: 4, expected: 8, atLeast: false, complete: false });
    expect(progressAfterPage(undefined, 'g', 't', false, page(3))).toBeUndefined();
  });

  test('a count is asked for in a first pass without an estimate, or once past a capped one', () => {
    expect(needsEstimate(undefined, false)).toBe(false); // the first page is counted unasked
    expect(needsEstimate(undefined, true)).toBe(true); // a resumed pass with no estimate
    const capped = progressAfterPage(
      undefined,
      'g',
      't',
      true,
      page(1_000, { remaining: { rows: 100_000, atLeast: true } }),
    )!;
    expect(needsEstimate(capped, true)).toBe(false);
    const past = progressAfterPage(capped, 'g', 't', true, page(99_000))!;
    expect(progressOf(past)).toMatchObject({ done: 100_000, expected: 100_000, atLeast: true });
    expect(needsEstimate(past, true)).toBe(true);
    const exact = progressAfterPage(
      undefined,
      'g',
      't',
      true,
      page(5, { remaining: { rows: 5, atLeast: false } }),
    )!;
    expect(needsEstimate(exact, true)).toBe(false);
  });

  test('totals for one bar', () => {
    const none = { downloading: false, atLeast: false };
    expect(totalProgress([])).toEqual({ done: 0, expected: 0, fraction: null, ...none });
    const a = progressAfterPage(
      undefined,
      'g',
      'a',
      true,
      page(10, { remaining: { rows: 40, atLeast: false } }),
    )!;
    const b = progressAfterPage(undefined, 'g', 'b', true, page(0, { hasMore: false }))!;
    expect(totalProgress([a, b])).toEqual({
      done: 10,
      expected: 40,
      fraction: 0.25,
      downloading: true,
      atLeast: false,
    });
    expect(totalProgress([b])).toEqual({ done: 0, expected: 0, fraction: 1, ...none });
    // A count that stopped at the server's limit is a floor: no fraction, which would fall back.
    const capped = progressAfterPage(
      undefined,
      'g',
      'c',
      true,
      page(10, { remaining: { rows: 100_000, atLeast: true } }),
    )!;
    expect(totalProgress([a, capped])).toEqual({
      done: 20,
      expected: 100_040,
      fraction: null,
      downloading: true,
      atLeast: true,
    });
    // Once that table is complete, its count no longer matters.
    const cappedDone = progressAfterPage(capped, 'g', 'c', true, page(5, { hasMore: false }))!;
    expect(totalProgress([a, cappedDone])).toMatchObject({ atLeast: false, fraction: 25 / 55 });
  });
});

const harness = await startSyncServer('client-download-progress');
afterAll(() => harness.stop());

let counter = 0;
const unique = (label: string) => `progress-${label}-${++counter}`;
const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });

async function seed(user: string, count: number) {
  const writer = await harness.client(user, { realtime: false });
  await writer.sync.insertPhoneBooks(
    Array.from({ length: count }, (_, i) => contact(user, `row ${i}`)),
  );
  await writer.sync.sync();
  await writer.sync.close();
}

/**
 * Six rows of a new user on the server, and a replica (its own store) whose
 * first download, in pages of 2, is cut after its first page: the next
 * request is dropped.
 */
async function cutAfterFirstPage() {
  const user = unique('user');
  await seed(user, 6);
  const store = unique('store');
  const network = new FaultyNetwork();
  const a = await openFaultyClient({
    url: harness.url,
    user,
    groups: ['private_contacts'],
    store,
    network,
    pageSize: 2,
  });
  const first = network.hold('download-response');
  const cut = a.sync.sync();
  await first.reached;
  first.release();
  network.dropNext('download-request');
  await expect(cut).rejects.toMatchObject({ code: 'sync_failed' });
  return { user, store, a };
}

describe('status.progress against a real server', () => {
  test("reports each page of a first download as done of expected, in the caller's scope only", async () => {
    const [ann, bob] = [unique('ann'), unique('bob')];
    await seed(ann, 25);
    await seed(bob, 40); // never counted for ann
    const reader = await harness.client(ann, { pageSize: 10, realtime: false });
    expect(reader.sync.status.progress).toEqual([]);
    const seen: unknown[] = [];
    reader.sync.subscribe((status) => {
      const p = status.progress.find((e) => e.table === 'phone_book');
      if (p && progressOf(p) !== undefined) seen.push({ table: p.table, ...progressOf(p) });
    });
    await reader.sync.sync();
    const distinct = seen.filter((s, i) => JSON.stringify(s) !== JSON.stringify(seen[i - 1]));
    expect(distinct).toEqual([
      { table: 'phone_book', done: 10, expected: 25, atLeast: false, complete: false },
      { table: 'phone_book', done: 20, expected: 25, atLeast: false, complete: false },
      { table: 'phone_book', done: 25, expected: 25, atLeast: false, complete: true },
    ]);
    // The group's other table, empty, is a first download too, ended with its first page.
    expect(reader.sync.status.progress).toEqual([
      {
        group: 'private_contacts',
        table: 'note',
        done: 0,
        expected: 0,
        atLeast: false,
        complete: true,
      },
      {
        group: 'private_contacts',
        table: 'phone_book',
        done: 25,
        expected: 25,
        atLeast: false,
        complete: true,
      },
    ]);
    // The next sync is not a first download: the finished entry goes.
    await reader.sync.sync();
    expect(reader.sync.status.progress).toEqual([]);
  });

  test('a first download cut after a page goes on after a reopen from the progress its replica kept; reset() forgets it', async () => {
    const { user, store, a } = await cutAfterFirstPage();
    const phoneBooks = (progress: readonly DownloadProgress[]) =>
      progress.filter((p) => p.table === 'phone_book').map(progressOf);
    expect(phoneBooks(a.sync.status.progress)).toEqual([
      { done: 2, expected: 6, atLeast: false, complete: false },
    ]);
    await a.sync.close();
    await a.driver.close();

    const reopened = await harness.client(user, {
      store,
      groups: ['private_contacts'],
      realtime: false,
      pageSize: 2,
    });
    // Kept by the replica: only unfinished downloads (the empty note table ended on its page).
    expect(reopened.sync.status.progress.map(progressOf)).toEqual([
      { done: 2, expected: 6, atLeast: false, complete: false },
    ]);
    const seen: number[] = [];
    reopened.sync.subscribe((s) => {
      const done = s.progress.find((p) => p.table === 'phone_book')?.done;
      if (done !== undefined && done !== seen.at(-1)) seen.push(done);
    });
    await reopened.sync.sync();
    // Never back to 0: the bar goes on from the page the replica had applied.
    expect(seen).toEqual([2, 4, 6]);
    expect(phoneBooks(reopened.sync.status.progress)).toEqual([
      { done: 6, expected: 6, atLeast: false, complete: true },
    ]);
    expect(reopened.sync.status.hasSynced).toBe(true);
    await reopened.sync.reset();
    expect(reopened.sync.status.progress).toEqual([]);
  });

  test('a first download resumed without a kept estimate (a replica of an older version) asks the server to count again', async () => {
    const { user, store, a } = await cutAfterFirstPage();
    // What a replica made before progress was kept looks like: a cursor inside a first pass, no estimate.
    await a.driver.execute("DELETE FROM _carburetor_state WHERE key LIKE 'progress:%'");
    await a.sync.close();
    await a.driver.close();

    const reopened = await harness.client(user, {
      store,
      groups: ['private_contacts'],
      realtime: false,
      pageSize: 2,
    });
    expect(reopened.sync.status.progress).toEqual([]);
    const seen: unknown[] = [];
    reopened.sync.subscribe((s) => {
      const p = s.progress.find((e) => e.table === 'phone_book');
      const last = seen.at(-1) as { done: number } | undefined;
      if (p && p.done !== last?.done) seen.push({ done: p.done, expected: p.expected });
    });
    await reopened.sync.sync();
    // Counted from where the pass stood: 4 rows left, this session's first page included.
    expect(seen).toEqual([
      { done: 2, expected: 4 },
      { done: 4, expected: 4 },
    ]);
  });
});
