import type { AddressInfo } from 'node:net';
import { createSyncClient, uuidv7 } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import {
  boolean,
  type DownloadResponse,
  type DownloadRow,
  defineSyncConfig,
  downloadRowsToWire,
  integer,
  PROTOCOL_VERSION,
  table,
  text,
  type WireRow,
  writeTimeFromMs,
} from '@carburetor/core';
import { createPgKysely, createSyncRouter, migrateServer } from '@carburetor/server';
import { createTRPCUntypedClient, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { observable } from '@trpc/server/observable';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { startBenchPostgres } from './bench-postgres.ts';
import { percentile, type Settled, settle, time } from './measure.ts';

const ROWS = 100_000;
const PAGE = 10_000;

const config = defineSyncConfig({
  tables: {
    contact: table(
      { plural: 'contacts' },
      {
        owner_id: text().immutable(),
        name: text(),
        phone: text().nullable(),
        published: boolean().default(false),
        rank: integer().default(0),
      },
    ),
  },
  syncGroups: { everything: { contact: true } },
});

const DATA = ['owner_id', 'name', 'phone', 'published', 'rank'] as const;
const WIRE_COLUMNS = [...DATA, 'is_deleted'];

/** The replica-shaped table the raw baselines write: same columns, same primary key. */
const PLAIN_TABLE = `CREATE TABLE plain (id TEXT PRIMARY KEY NOT NULL, owner_id TEXT NOT NULL, name TEXT NOT NULL,
  phone TEXT, published INTEGER NOT NULL, rank INTEGER NOT NULL, is_deleted INTEGER NOT NULL,
  last_synced_at TEXT, column_sync_metadata TEXT NOT NULL, dirty_flag TEXT)`;
const PLAIN_UPSERT =
  'INSERT OR REPLACE INTO plain (id, owner_id, name, phone, published, rank, is_deleted, last_synced_at, column_sync_metadata, dirty_flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)';

const idOf = (n: number) => `0192f3c4-0000-7000-8000-${String(n).padStart(12, '0')}`;

/** Alternates `ours` and `baseline` like sideBySide, with an untimed setup before each. */
async function alternate(
  runs: number,
  ours: { setup: () => Promise<void>; run: () => Promise<unknown> },
  baseline: { setup: () => Promise<void>; run: () => Promise<unknown> },
): Promise<{ ours: number[]; baseline: number[] }> {
  const out = { ours: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < runs; i++) {
    await baseline.setup();
    out.baseline.push(await time(baseline.run));
    await ours.setup();
    out.ours.push(await time(ours.run));
  }
  return out;
}

// ---------------------------------------------------------------- (a) first download

// biome-ignore lint/suspicious/noExplicitAny: any schema
async function fill(db: Kysely<any>, rows: number): Promise<void> {
  const metadata = JSON.stringify(
    Object.fromEntries(
      WIRE_COLUMNS.map((c, k) => [
        c,
        { t: writeTimeFromMs(Date.now() - 60_000) + k, c: 'device-0123456789abcdef' },
      ]),
    ),
  );
  await sql`insert into contacts (id, owner_id, name, phone, published, rank, column_sync_metadata)
    select '0192f3c4-0000-7000-8000-' || lpad(n::text, 12, '0'), 'user-' || (n % 100), 'Contact number ' || n,
      '+1 555 ' || lpad((n % 10000)::text, 4, '0'), n % 2 = 0, n % 1000, ${metadata}::jsonb
    from generate_series(1, ${rows}) n`.execute(db);
  await sql`vacuum analyze contacts`.execute(db);
}

/**
 * A first download of 100k rows into a fresh replica through the sync router
 * over real HTTP, against a raw pg SELECT of the same rows plus one batched
 * wa-sqlite INSERT of them in one transaction.
 */
export async function clientFirstDownload(runs = 5): Promise<Settled[]> {
  const postgres = await startBenchPostgres('bench_client_download');
  const db = createPgKysely(postgres.database.url);
  const pool = new pg.Pool({ connectionString: postgres.database.url, max: 2 });
  const server = createHTTPServer({ router: createSyncRouter(config, { db }) });
  // The baseline runs for seconds between our requests (longer on a busy machine). A run once
  // failed with "fetch failed" there; the likely race: Node's 5 s keep-alive timeout closing the
  // idle socket as the next request takes it. Not part of what is measured, so take it away.
  server.keepAliveTimeout = 120_000;
  try {
    await migrateServer(db, config);
    await fill(db, ROWS);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    let client:
      | Awaited<ReturnType<typeof createSyncClient<typeof config, ['everything']>>>
      | undefined;
    let plainDriver: ReturnType<typeof memoryDriver> | undefined;
    const counts = { ours: 0, baseline: 0 };
    const ours = {
      setup: async () => {
        await client?.close();
        client = await createSyncClient(config, {
          driver: memoryDriver(),
          url,
          groups: ['everything'],
          pageSize: PAGE,
        });
      },
      run: async () => {
        await client!.sync();
      },
    };
    const baseline = {
      setup: async () => {
        await plainDriver?.close();
        plainDriver = memoryDriver();
        await plainDriver.execute(PLAIN_TABLE);
      },
      run: async () => {
        const { rows } = await pool.query(
          'select id, owner_id, name, phone, published, rank, is_deleted, last_synced_at, column_sync_metadata from contacts',
        );
        await plainDriver!.executeBatch(
          rows.map((r) => ({
            sql: PLAIN_UPSERT,
            params: [
              r.id,
              r.owner_id,
              r.name,
              r.phone,
              r.published ? 1 : 0,
              r.rank,
              r.is_deleted ? 1 : 0,
              r.last_synced_at ? (r.last_synced_at as Date).toISOString() : null,
              JSON.stringify(r.column_sync_metadata),
            ],
          })),
          { transaction: true },
        );
      },
    };
    await ours.setup(); // warm both paths once
    await ours.run();
    await baseline.setup();
    await baseline.run();
    const rows = await settle('client-first-download', async () => [
      {
        name: 'first download of 100k rows into a fresh replica (HTTP, pages of 10k) vs pg SELECT + one wa-sqlite INSERT batch',
        ...(await alternate(runs, ours, baseline)),
        limit: 1.2,
      },
    ]);
    counts.ours = Number(
      (
        await client!.db
          .selectFrom('contacts')
          .select(sql<number>`count(*)`.as('n'))
          .executeTakeFirst()
      )?.n,
    );
    counts.baseline = Number(
      (await plainDriver!.execute('SELECT count(*) AS n FROM plain')).rows[0]?.['n'],
    );
    if (counts.ours !== ROWS || counts.baseline !== ROWS) {
      throw new Error(
        `expected ${ROWS} rows, got ${counts.ours} (replica) and ${counts.baseline} (plain)`,
      );
    }
    await client?.close();
    await plainDriver?.close();
    return rows;
  } finally {
    server.close();
    await pool.end();
    await db.destroy();
    await postgres.stop();
  }
}

// ---------------------------------------------------------------- in-memory pages

/** Download pages of every row at `version`: names and stamps change with it. */
function pagesAt(version: number): DownloadResponse[] {
  const base = writeTimeFromMs(Date.now() - 60_000) + version * 16;
  // Each row's columns written at base, base + 1, …; times go as differences
  // through the page: the first whole, each later one from the previous.
  const firstStamps = WIRE_COLUMNS.flatMap((_, k) => [k === 0 ? base : 1, 0]);
  const laterStamps = WIRE_COLUMNS.flatMap((_, k) => [k === 0 ? 1 - WIRE_COLUMNS.length : 1, 0]);
  const syncedAt = Date.now() * 1000;
  const pages: DownloadResponse[] = [];
  for (let start = 0; start < ROWS; start += PAGE) {
    const rows: DownloadRow[] = [];
    for (let n = start + 1; n <= start + PAGE; n++) {
      const first = n === start + 1;
      rows.push([
        idOf(n),
        first ? syncedAt : 0,
        `user-${n % 100}`,
        `Contact ${n} v${version}`,
        `+1 555 ${n % 10000}`,
        n % 2 === 0,
        n % 1000,
        false,
        ...(first ? firstStamps : laterStamps),
      ]);
    }
    const hasMore = start + PAGE < ROWS;
    pages.push({
      protocol: PROTOCOL_VERSION,
      serverTime: Date.now(),
      hasMore,
      tables: {
        contact: {
          columns: WIRE_COLUMNS,
          clients: ['device-0123456789abcdef'],
          rows,
          tombstones: [],
          outOfScope: [],
          cursor: `v${version}-${start}`,
          hasMore,
          reset: false,
        },
      },
    });
  }
  return pages;
}

/**
 * A tRPC link that answers downloads from pages held in memory: the client's
 * merge is measured without the network and the server.
 */
function cannedServer() {
  let pages: DownloadResponse[] = [];
  let next = 0;
  const link: TRPCLink<AnyRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        const page = op.path.endsWith('.download') ? pages[next++] : undefined;
        if (!page) {
          observer.error(new Error(`no canned answer for ${op.path}`) as never);
          return;
        }
        observer.next({ result: { type: 'data', data: page } });
        observer.complete();
      });
  return {
    trpcClient: createTRPCUntypedClient({ links: [link] }),
    serve(list: DownloadResponse[]) {
      pages = list;
      next = 0;
    },
  };
}

function plainParams(row: WireRow) {
  const [id, syncedAt, metadata, owner, name, phone, published, rank, deleted] = row;
  return [
    id,
    owner,
    name,
    phone,
    published ? 1 : 0,
    rank,
    deleted ? 1 : 0,
    syncedAt,
    JSON.stringify(metadata),
  ] as (string | number | null)[];
}

async function plainReplica(pages: readonly DownloadResponse[]) {
  const driver = memoryDriver();
  await driver.execute(PLAIN_TABLE);
  await upsertPlain(driver, pages);
  return driver;
}

async function upsertPlain(
  driver: ReturnType<typeof memoryDriver>,
  pages: readonly DownloadResponse[],
) {
  const statements = pages.flatMap((p) =>
    downloadRowsToWire(p.tables['contact']!).map((row) => ({
      sql: PLAIN_UPSERT,
      params: plainParams(row),
    })),
  );
  await driver.executeBatch(statements, { transaction: true });
}

async function filledClient() {
  const canned = cannedServer();
  const driver = memoryDriver();
  const client = await createSyncClient(config, {
    driver,
    trpcClient: canned.trpcClient,
    groups: ['everything'],
  });
  canned.serve(pagesAt(0));
  await client.sync();
  return { client, canned, driver };
}

/** The merge bench's pieces, for profiling its phases. */
export function clientMergeParts() {
  return { config, pagesAt, filled: filledClient };
}

// ---------------------------------------------------------------- (b) merge

/**
 * A newer version of all 100k rows (every column's stamp newer, the name
 * changed) merged into a replica that holds them, as 10 download pages of
 * 10k served from memory, against a plain INSERT OR REPLACE of the same rows
 * into a table that holds them, in one transaction.
 */
export async function clientMerge(runs = 5): Promise<Settled[]> {
  const { client, canned } = await filledClient();
  const plain = await plainReplica(pagesAt(0));
  let version = 0;
  let pages: DownloadResponse[] = [];
  const ours = {
    setup: async () => canned.serve(pages),
    run: () => client.sync(),
  };
  const baseline = {
    setup: async () => {
      pages = pagesAt(++version);
    },
    run: () => upsertPlain(plain, pages),
  };
  await alternate(1, ours, baseline); // a warm-up of each
  const rows = await settle('client-merge', async () => [
    {
      name: 'merge of a newer version of 100k rows (10 pages of 10k) into a replica holding them vs INSERT OR REPLACE in one transaction',
      ...(await alternate(runs, ours, baseline)),
      limit: 2,
    },
  ]);
  const check = await client.db
    .selectFrom('contacts')
    .select(['name', 'dirty_flag'])
    .where('id', '=', idOf(ROWS))
    .executeTakeFirst();
  if (check?.name !== `Contact ${ROWS} v${version}` || check.dirty_flag !== null) {
    throw new Error(`the merge did not take the last version: ${JSON.stringify(check)}`);
  }
  await client.close();
  await plain.close();
  return rows;
}

// ---------------------------------------------------------------- (c) local insert

/**
 * One local insert (its own transaction, one write time) on a replica of
 * 100k rows, against a raw one-row wa-sqlite INSERT in its own transaction on
 * a plain table of 100k rows: p50 and p99 per round of 400 inserts of each,
 * alternating; medians of 5 rounds.
 */
export async function clientLocalInsert(rounds = 5, perRound = 400): Promise<Settled[]> {
  const { client } = await filledClient();
  const plain = await plainReplica(pagesAt(0));
  const metadata = JSON.stringify({ name: { t: writeTimeFromMs(Date.now()), c: 'bench', d: 1 } });
  let n = 0;
  /** One batch of `perRound` inserts of each, alternating: their p50 and p99. */
  const batch = async () => {
    const ours: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < perRound; i++) {
      n++;
      baseline.push(
        await time(() =>
          plain.executeBatch(
            [
              {
                sql: PLAIN_UPSERT,
                params: [uuidv7(), 'user-1', `Local ${n}`, null, 0, 0, 0, null, metadata],
              },
            ],
            { transaction: true },
          ),
        ),
      );
      ours.push(
        await time(() =>
          client.insertContact({ owner_id: 'user-1', name: `Local ${n}`, phone: null }),
        ),
      );
    }
    return { ours, baseline };
  };
  await batch(); // warm-up
  const us = (list: number[]) => list.map((ms) => ms * 1000);
  const rows = await settle('client-local-insert', async () => {
    const p50 = { ours: [] as number[], baseline: [] as number[] };
    const p99 = { ours: [] as number[], baseline: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const { ours, baseline } = await batch();
      p50.ours.push(percentile(ours, 50));
      p50.baseline.push(percentile(baseline, 50));
      p99.ours.push(percentile(ours, 99));
      p99.baseline.push(percentile(baseline, 99));
    }
    return [
      {
        name: `local insert on a 100k-row replica, p50 of ${perRound}`,
        ours: us(p50.ours),
        baseline: us(p50.baseline),
        mode: 'difference',
        unit: 'µs',
        limit: 1000,
      },
      {
        name: `local insert on a 100k-row replica, p99 of ${perRound}`,
        ours: us(p99.ours),
        baseline: us(p99.baseline),
        mode: 'difference',
        unit: 'µs',
        limit: 4000,
      },
    ];
  });
  await client.close();
  await plain.close();
  return rows;
}
