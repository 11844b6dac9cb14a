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
import { type Comparison, type Settled, settle } from './measure.ts';

const ROWS = 100_000;
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
async function fill(db: Kysely<any>): Promise<void> {
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
    from generate_series(1, ${ROWS}) n`.execute(db);
  await sql`vacuum analyze phone_books`.execute(db);
}

/**
 * A first download of 100k rows through createSyncClient + sync() into a
 * fresh OPFS replica (opfsDriver, wa-sqlite worker) in Chromium, against
 * measureRawInserts of the same rows (read back from the replica) into a
 * table of the same shape, in the same worker, one prepared statement in one
 * transaction.
 */
export async function browserFirstDownload(runs = 3): Promise<Settled[]> {
  const postgres = await startBenchPostgres('bench_browser_download');
  const db = createPgKysely(postgres.database.url);
  const profile = await freshProfile();
  let site: Awaited<ReturnType<typeof startTestSite>> | undefined;
  try {
    await migrateServer(db, phoneBookConfig);
    await fill(db);
    const handler = createHTTPHandler({
      router: createSyncRouter(phoneBookConfig, {
        db,
        context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
      }),
      basePath: '/trpc/',
      createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
    });
    site = await startTestSite(handler);
    const context = await launchChromium(profile);
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(site.origin);
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
      let run = -1;
      /** One run: sync into a fresh replica, then the raw inserts. */
      const one = async () => {
        run++;
        const sample = await page.evaluate(
          async ({ run, user, page, columns }) => {
            const { carburetor } = globalThis as unknown as { carburetor: PageApi };
            await carburetor.openClient({
              name: `download-${run}`,
              user,
              tab: 'bench',
              pageSize: page,
            });
            const { session } = globalThis as unknown as { session: Session };
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
            }
            const syncMs = performance.now() - start;
            const driver = session.driver;
            const { rows } = await driver.execute(`SELECT ${columns.join(', ')} FROM phone_books`);
            const values = rows.map((row) => columns.map((c) => row[c] ?? null));
            await driver.execute(
              `CREATE TABLE plain AS SELECT ${columns.join(', ')} FROM phone_books WHERE 0`,
            );
            const rawMs = await carburetor.measureRawInserts(
              driver,
              `INSERT INTO plain VALUES (${columns.map(() => '?').join(', ')})`,
              values,
            );
            await session.client.close();
            return { syncMs, rawMs, networkMs, count: values.length };
          },
          { run, user: USER, page: PAGE, columns: [...COLUMNS] },
        );
        if (sample.count !== ROWS) {
          throw new Error(`expected ${ROWS} rows in the replica, got ${sample.count}`);
        }
        console.log(
          `run ${run}: sync ${sample.syncMs.toFixed(0)} ms (server + JSON ${sample.networkMs.toFixed(0)} ms, the rest ${(sample.syncMs - sample.networkMs).toFixed(0)} ms); raw inserts ${sample.rawMs.toFixed(0)} ms`,
        );
        return sample;
      };
      await one(); // warms up (worker, wasm, server caches); not counted
      return await settle('browser-first-download', async (): Promise<Comparison[]> => {
        const ours: number[] = [];
        const baseline: number[] = [];
        for (let i = 0; i < runs; i++) {
          const sample = await one();
          ours.push(sample.syncMs);
          baseline.push(sample.rawMs);
        }
        return [
          {
            name: 'first download of 100k rows into OPFS (Chromium, sync client over HTTP, pages of 10k) vs raw wa-sqlite INSERTs of the same rows in the same worker',
            ours,
            baseline,
            limit: 1.5,
          },
        ];
      });
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
