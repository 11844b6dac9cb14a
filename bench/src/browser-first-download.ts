// First download into the browser replica (OPFS, in Chromium) through the
// real sync client, against the same rows inserted raw by wa-sqlite in the
// same worker. The page, the site and Chromium come from the client's
// browser suite (packages/client/browser-test).
import { rm } from 'node:fs/promises';
import { writeTimeFromMs } from '@carburetor/core';
import { createPgKysely, createSyncRouter, migrateServer } from '@carburetor/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import type { PageApi, Session } from '../../packages/client/browser-test/page/main.ts';
import {
  freshProfile,
  launchChromium,
  startTestSite,
} from '../../packages/client/browser-test/site.ts';
import { phoneBookConfig } from '../../packages/client/src/__tests__/fixtures.ts';
import { startBenchPostgres } from './bench-postgres.ts';
import { selfTimeLines } from './cpu-profile-summary.ts';
import { type Comparison, median, type Outcome, settle } from './measure.ts';
import { connectPageDevtools, DEVTOOLS_PORT_ARG, type HeapPeaks } from './page-devtools.ts';

const PAGE = 10_000;
const USER = 'bench-user';
/** The replica's columns, in its table's order, as the raw baseline inserts them. */
const COLUMNS = [
  'id',
  'owner_id',
  'name',
  'phone_number',
  'note',
  'published',
  'record_deleted',
  'sync_metadata',
  'updated_at',
] as const;

// biome-ignore lint/suspicious/noExplicitAny: any schema
async function fill(db: Kysely<any>, rows: number): Promise<void> {
  const metadata = JSON.stringify(
    Object.fromEntries(
      ['owner_id', 'name', 'phone_number', 'note', 'published', 'record_deleted'].map((c, k) => [
        c,
        { t: writeTimeFromMs(Date.now() - 60_000) + k, c: 'device-0123456789abcdef' },
      ]),
    ),
  );
  await sql`insert into phone_books (id, owner_id, name, phone_number, note, published, sync_metadata)
    select '0192f3c4-0000-7000-8000-' || lpad(n::text, 12, '0'), ${USER}, 'Contact number ' || n,
      '+1 555 ' || lpad((n % 10000)::text, 4, '0'), case when n % 3 = 0 then 'note ' || n end,
      n % 2 = 0, ${metadata}::jsonb
    from generate_series(1, ${rows}) n`.execute(db);
  await sql`vacuum analyze phone_books`.execute(db);
}

/** What the page saw of `status.progress` during one sync (phone_book, summed over groups). */
interface ProgressSeen {
  /** Distinct (done, expected) states seen. */
  samples: number;
  /** `expected` at the first state, and at the last. */
  firstExpected: number;
  lastDone: number;
  lastExpected: number;
  /** States where `done` went down (must be none). */
  doneDrops: number;
  /**
   * States where the bar's fraction went down, and the largest such drop:
   * `totalProgress`'s rule, no fraction (an indeterminate bar) while a
   * count is only a floor (`atLeast`).
   */
  fractionDrops: number;
  largestFractionDrop: number;
  /** States with an indeterminate bar. */
  indeterminate: number;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const label = (rows: number) => (rows >= 1_000_000 ? `${rows / 1_000_000}M` : `${rows / 1000}k`);

/**
 * A first download of `rows` rows through createSyncClient + sync() into a
 * fresh OPFS replica (opfsDriver, wa-sqlite worker) in Chromium, against
 * measureRawInserts of the same rows (read by the worker from the replica)
 * into a table of the same columns, in the same worker, one prepared
 * statement in one transaction. While the sync runs, the JS heap of the page
 * and of the worker is sampled over the DevTools protocol and the page
 * records every `status.progress` it is shown; both go in the report's
 * appendix.
 */
export async function browserFirstDownload(rows: number, runs: number): Promise<Outcome> {
  const name = `bench_browser_download_${label(rows).toLowerCase()}`;
  const postgres = await startBenchPostgres(name);
  const db = createPgKysely(postgres.database.url);
  const profile = await freshProfile();
  let site: Awaited<ReturnType<typeof startTestSite>> | undefined;
  try {
    await migrateServer(db, phoneBookConfig);
    await fill(db, rows);
    const handler = createHTTPHandler({
      router: createSyncRouter(phoneBookConfig, {
        db,
        context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
      }),
      basePath: '/trpc/',
      createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
    });
    site = await startTestSite(handler);
    const context = await launchChromium(profile, [DEVTOOLS_PORT_ARG]);
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(site.origin);
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
      const heap = await connectPageDevtools(profile, site.origin);
      const peaks: HeapPeaks[] = [];
      let live: HeapPeaks | undefined;
      const retained: { page: number; worker: number }[] = [];
      const progress: ProgressSeen[] = [];
      let run = -1;
      let profiled: string[] = [];
      /**
       * One run: sync into a fresh replica (heap sampled), then the raw
       * inserts. The warm-up samples the live heap instead (a collection
       * before each sample: what the download keeps reachable, at a cost);
       * a profiled run (not timed) profiles the page and the worker.
       */
      const one = async (kind: 'warm-up' | 'timed' | 'profiled' = 'timed') => {
        run++;
        await page.evaluate(
          ({ run, user, page }) =>
            (globalThis as unknown as { carburetor: PageApi }).carburetor.openClient({
              name: `download-${run}`,
              user,
              tab: 'bench',
              pageSize: page,
              keepChanges: false,
            }),
          { run, user: USER, page: PAGE },
        );
        await heap.collectGarbage();
        const stopSampling = kind === 'warm-up' ? heap.sample(500, true) : heap.sample(100);
        const stopProfile = kind === 'profiled' ? await heap.profile() : undefined;
        const sync = await page.evaluate(async () => {
          const { session } = globalThis as unknown as { session: Session };
          const seen = {
            samples: 0,
            firstExpected: -1,
            lastDone: 0,
            lastExpected: 0,
            doneDrops: 0,
            fractionDrops: 0,
            largestFractionDrop: 0,
            indeterminate: 0,
          };
          let lastFraction: number | undefined;
          const unsubscribe = session.client.subscribe((status) => {
            let done = 0;
            let expected = 0;
            let atLeast = false;
            for (const p of status.progress) {
              if (p.table !== 'phone_book') continue;
              done += p.done;
              expected += p.expected;
              atLeast ||= p.atLeast && !p.complete;
            }
            if (expected === 0 || (done === seen.lastDone && expected === seen.lastExpected)) {
              return;
            }
            if (seen.samples > 0) {
              if (done < seen.lastDone) seen.doneDrops++;
            } else {
              seen.firstExpected = expected;
            }
            if (atLeast) seen.indeterminate++;
            else {
              const fraction = done / expected;
              const drop = lastFraction === undefined ? 0 : lastFraction - fraction;
              if (drop > 1e-9) {
                seen.fractionDrops++;
                seen.largestFractionDrop = Math.max(seen.largestFractionDrop, drop);
              }
              lastFraction = fraction;
            }
            seen.samples++;
            seen.lastDone = done;
            seen.lastExpected = expected;
          });
          // Where the time goes: waiting for the server and parsing its JSON, or the rest
          // (merge, page to worker, SQLite). The sync is sequential, so they add up.
          let networkMs = 0;
          const realFetch = globalThis.fetch;
          const realJson = Response.prototype.json;
          globalThis.fetch = async (...args) => {
            const t = performance.now();
            try {
              return await realFetch(...args);
            } finally {
              networkMs += performance.now() - t;
            }
          };
          Response.prototype.json = async function (this: Response) {
            const t = performance.now();
            try {
              return await realJson.call(this);
            } finally {
              networkMs += performance.now() - t;
            }
          };
          const start = performance.now();
          try {
            await session.client.sync();
          } finally {
            globalThis.fetch = realFetch;
            Response.prototype.json = realJson;
            unsubscribe();
          }
          return { syncMs: performance.now() - start, networkMs, seen };
        });
        if (stopProfile) {
          const { page: pageProfile, workers } = await stopProfile();
          profiled = [
            ...selfTimeLines('The page (main thread), self time by function', pageProfile),
            ...workers.flatMap((w) => selfTimeLines('The worker, self time by function', w)),
          ];
        }
        const sampled = await stopSampling();
        if (kind === 'warm-up') live = sampled;
        else if (kind === 'timed') peaks.push(sampled);
        await heap.collectGarbage();
        retained.push(await heap.usage());
        progress.push(sync.seen);
        const raw = await page.evaluate(
          async ({ columns }) => {
            const { carburetor } = globalThis as unknown as { carburetor: PageApi };
            const { session } = globalThis as unknown as { session: Session };
            const { driver } = session;
            const count = Number(
              (await driver.execute('SELECT count(*) AS n FROM phone_books')).rows[0]?.['n'],
            );
            await driver.execute(
              `CREATE TABLE plain AS SELECT ${columns.join(', ')} FROM phone_books WHERE 0`,
            );
            const rawMs = await carburetor.measureRawInserts(
              driver,
              `INSERT INTO plain VALUES (${columns.map(() => '?').join(', ')})`,
              { select: `SELECT ${columns.join(', ')} FROM phone_books` },
            );
            await session.client.close();
            await driver.close(); // ends its worker: runs must not pile up workers
            return { rawMs, count };
          },
          { columns: [...COLUMNS] },
        );
        if (raw.count !== rows) {
          throw new Error(`expected ${rows} rows in the replica, got ${raw.count}`);
        }
        const last = sampled;
        console.log(
          `run ${run}: sync ${sync.syncMs.toFixed(0)} ms (server + JSON ${sync.networkMs.toFixed(0)} ms, the rest ${(sync.syncMs - sync.networkMs).toFixed(0)} ms); raw inserts ${raw.rawMs.toFixed(0)} ms; heap peak${kind === 'timed' ? '' : ` (${kind})`} page ${mib(last.page)}, worker ${mib(last.worker)} (${last.samples} samples); progress ${sync.seen.samples} states, done ${sync.seen.lastDone}/${sync.seen.lastExpected}`,
        );
        return { syncMs: sync.syncMs, rawMs: raw.rawMs };
      };
      await one('warm-up'); // warms up (worker, wasm, server caches); not counted
      const rowsSettled = await settle(
        `browser-first-download ${label(rows)}`,
        async (): Promise<Comparison[]> => {
          const ours: number[] = [];
          const baseline: number[] = [];
          for (let i = 0; i < runs; i++) {
            const sample = await one();
            ours.push(sample.syncMs);
            baseline.push(sample.rawMs);
          }
          return [
            {
              name: `first download of ${label(rows)} rows into OPFS (Chromium, sync client over HTTP, pages of 10k) vs raw wa-sqlite INSERTs of the same rows in the same worker`,
              ours,
              baseline,
              limit: 1.3,
            },
          ];
        },
      );
      // Where the time goes, on demand: one more run, profiled, not counted.
      if (process.env['BENCH_PROFILE']) await one('profiled');
      heap.close();
      const profileText =
        profiled.length === 0
          ? ''
          : [
              `## Where the time goes (BENCH_PROFILE: one more ${label(rows)}-row run, not timed, V8's sampling profiler in the page and in the worker during sync())`,
              '',
              ...profiled,
            ].join('\n');
      return {
        rows: rowsSettled,
        appendix: `${appendix(rows, peaks, live!, retained, progress)}\n${profileText}`,
      };
    } finally {
      await context.close();
    }
  } finally {
    await site?.close();
    await db.destroy();
    await postgres.stop();
    await rm(profile, { recursive: true, force: true });
  }
}

/** The heap and progress lines of the report: heap over the timed runs, progress over all. */
function appendix(
  rows: number,
  peaks: readonly HeapPeaks[],
  live: HeapPeaks,
  retained: readonly { page: number; worker: number }[],
  progress: readonly ProgressSeen[],
): string {
  const pagePeaks = peaks.map((p) => p.page);
  const workerPeaks = peaks.map((p) => p.worker);
  const quarters = [0, 1, 2, 3]
    .map(
      (q) =>
        `${mib(median(peaks.map((p) => p.quarters[q]!.page)))} / ${mib(median(peaks.map((p) => p.quarters[q]!.worker)))}`,
    )
    .join(', ');
  const last = progress.at(-1)!;
  const monotonic = progress.every((p) => p.doneDrops === 0);
  const fractionDrops = progress.reduce((n, p) => n + p.fractionDrops, 0);
  const largestDrop = Math.max(...progress.map((p) => p.largestFractionDrop));
  const complete = progress.every((p) => p.lastDone === rows && p.lastExpected === rows);
  return [
    `## Memory and progress during the ${label(rows)}-row download`,
    '',
    `JS heap in use (Runtime.getHeapUsage usedSize over the DevTools protocol, sampled every 100 ms during sync(), garbage collected before each run; ${peaks.length} timed runs, ${median(peaks.map((p) => p.samples))} samples a run): peak of the page median ${mib(median(pagePeaks))} (max ${mib(Math.max(...pagePeaks))}), of the worker median ${mib(median(workerPeaks))} (max ${mib(Math.max(...workerPeaks))}); by quarter of the download, page / worker (medians of the runs' quarter peaks): ${quarters}. These peaks count garbage not yet collected. Live heap (the warm-up run, a collection before each sample every 500 ms, ${live.samples} samples): page peak ${mib(live.page)}, worker peak ${mib(live.worker)}. After the sync, the client still open, garbage collected: page ${mib(median(retained.map((r) => r.page)))}, worker ${mib(median(retained.map((r) => r.worker)))} (medians).`,
    '',
    `Progress (status.progress of phone_book as the page was told of it, ${progress.length} runs with the warm-up): ${median(progress.map((p) => p.samples))} distinct states a run; done ${monotonic ? 'never went down' : 'WENT DOWN'} in any run; ${complete ? `every run ended at done = expected = ${rows}` : `a run ended at ${last.lastDone}/${last.lastExpected}`}; the first state expected ${last.firstExpected}; the bar (totalProgress: no fraction while a count is only a floor) was indeterminate in ${median(progress.map((p) => p.indeterminate))} states a run, and its fraction went down ${fractionDrops} times over all runs${fractionDrops > 0 ? ` (largest drop ${(largestDrop * 100).toFixed(1)} points)` : ''}.`,
    '',
  ].join('\n');
}
