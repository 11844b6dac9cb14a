import type { AddressInfo } from 'node:net';
import {
  boolean,
  type DownloadRequest,
  defineSyncConfig,
  integer,
  PROTOCOL_VERSION,
  table,
  text,
} from '@carburetor/core';
import {
  createPgKysely,
  createSyncRouter,
  downloadChanges,
  migrateServer,
  type SyncRouter,
} from '@carburetor/server';
import { createTRPCClient, httpLink } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { startBenchPostgres } from './bench-postgres.ts';
import { type Comparison, median, type Settled, settle, sideBySide, time } from './measure.ts';
import { sampleMetadataSql, sampleSyncedAtSql } from './sample-history.ts';

function benchConfig(plural: string) {
  return defineSyncConfig({
    tables: {
      contact: table(
        { plural },
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
}

const STAMPED = ['owner_id', 'name', 'phone', 'published', 'rank', 'is_deleted'];

/** Bulk rows straight from generate_series; the stamp trigger is skipped (replica role) for speed. */
// biome-ignore lint/suspicious/noExplicitAny: any schema
async function fill(db: Kysely<any>, tableName: string, rows: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    const n = sql<number>`n`;
    const metadata = sampleMetadataSql(STAMPED, ['name', 'phone'], n);
    await sql`insert into ${sql.table(tableName)} (id, owner_id, name, phone, published, rank, column_sync_metadata, last_synced_at)
      select '0192f3c4-' || lpad(n::text, 12, '0'), 'user-' || (n % 100), 'Contact number ' || n,
        '+1 555 ' || lpad((n % 10000)::text, 4, '0'), n % 2 = 0, n % 1000, ${metadata}, ${sampleSyncedAtSql(n)}
      from generate_series(1, ${rows}) n`.execute(trx);
  });
  await sql`vacuum analyze ${sql.table(tableName)}`.execute(db);
}

const request = (cursor: string | null, pageSize?: number): DownloadRequest => ({
  protocol: PROTOCOL_VERSION,
  clientId: 'bench',
  tables: { contact: { cursor, hasRows: cursor !== null } },
  ...(pageSize ? { pageSize } : {}),
});

/**
 * A first download of 100k rows through the router over real HTTP (page
 * size 10,000, every page), against one raw SELECT of the same rows and
 * columns with plain pg.
 */
export async function downloadOverHttp(runs = 5): Promise<Settled[]> {
  const postgres = await startBenchPostgres('bench_http');
  const db = createPgKysely(postgres.database.url);
  const plain = new pg.Pool({ connectionString: postgres.database.url, max: 2 });
  const config = benchConfig('http_contacts');
  const server = createHTTPServer({ router: createSyncRouter(config, { db }) });
  // The baseline runs for seconds between our requests (longer on a busy machine). A run once
  // failed with "fetch failed" there; the likely race: Node's 5 s keep-alive timeout closing the
  // idle socket as the next request takes it. Not part of what is measured, so take it away.
  server.keepAliveTimeout = 120_000;
  try {
    await migrateServer(db, config);
    await fill(db, 'http_contacts', 100_000);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createTRPCClient<SyncRouter<typeof config>>({ links: [httpLink({ url })] });
    let received = 0;
    const ours = async () => {
      received = 0;
      let cursor: string | null = null;
      for (;;) {
        const page = await client.everything.download.mutate(request(cursor, 10_000));
        const part = page.tables['contact']!;
        received += part.rows.length;
        cursor = part.cursor;
        if (!page.hasMore) break;
      }
    };
    let selected = 0;
    const baseline = async () => {
      const result = await plain.query(
        'select id, last_synced_at, column_sync_metadata, owner_id, name, phone, published, rank, is_deleted from http_contacts',
      );
      selected = result.rows.length;
    };
    await ours(); // warm up both paths once
    await baseline();
    return await settle('server-download-http', async () => {
      const samples = await sideBySide(runs, ours, baseline);
      if (received !== 100_000 || selected !== 100_000) {
        throw new Error(`expected 100000 rows, got ${received} (router) and ${selected} (select)`);
      }
      return [
        {
          name: 'first download of 100k rows via router over HTTP (10 pages of 10k) vs raw pg SELECT',
          ...samples,
          limit: 1.3,
        },
      ];
    });
  } finally {
    server.close();
    await plain.end();
    await db.destroy();
    await postgres.stop();
  }
}

/**
 * An incremental download of 10 changed rows in a 1M-row table, against the
 * same in a 1k-row table: the cursor must find changes through its index,
 * whatever the table's size.
 */
export async function incrementalDownload(runs = 25): Promise<Settled[]> {
  const postgres = await startBenchPostgres('bench_incremental');
  const db = createPgKysely(postgres.database.url);
  const big = benchConfig('big_contacts');
  const small = benchConfig('small_contacts');
  try {
    await migrateServer(db, big);
    await migrateServer(db, small);
    await fill(db, 'big_contacts', 1_000_000);
    await fill(db, 'small_contacts', 1_000);
    const cursors = new Map<string, string | null>();
    // Catch up once (in-process, all pages), then time only downloads of fresh changes.
    for (const [name, config] of [
      ['big_contacts', big],
      ['small_contacts', small],
    ] as const) {
      let cursor: string | null = null;
      for (;;) {
        const page = await downloadChanges(db, config, 'everything', request(cursor, 10_000), {});
        cursor = page.tables['contact']!.cursor;
        if (!page.hasMore) break;
      }
      cursors.set(name, cursor);
    }
    const change = async (tableName: string, size: number) => {
      const ids = Array.from(
        { length: 10 },
        () => `0192f3c4-${String(1 + Math.floor(Math.random() * size)).padStart(12, '0')}`,
      );
      await sql`update ${sql.table(tableName)} set name = name || '.' where id in (${sql.join(ids)})`.execute(
        db,
      );
    };
    const downloadChanged = async (tableName: string, config: typeof big) => {
      let got = 0;
      for (;;) {
        const page = await downloadChanges(
          db,
          config,
          'everything',
          request(cursors.get(tableName) ?? null),
          {},
        );
        got += page.tables['contact']!.rows.length;
        cursors.set(tableName, page.tables['contact']!.cursor);
        if (!page.hasMore) break;
      }
      if (got < 1 || got > 10) throw new Error(`expected up to 10 changed rows, got ${got}`);
    };
    const pair = async () => {
      await change('small_contacts', 1_000);
      const b = await time(() => downloadChanged('small_contacts', small));
      await change('big_contacts', 1_000_000);
      const o = await time(() => downloadChanged('big_contacts', big));
      return { o, b };
    };
    for (let i = 0; i < 3; i++) await pair(); // warm-up
    return await settle('server-download-incremental', async (): Promise<Comparison[]> => {
      const ours: number[] = [];
      const baseline: number[] = [];
      for (let i = 0; i < runs; i++) {
        const { o, b } = await pair();
        baseline.push(b);
        ours.push(o);
      }
      console.log(
        `incremental: median ${median(ours).toFixed(2)} ms (1M rows) vs ${median(baseline).toFixed(2)} ms (1k rows)`,
      );
      return [
        {
          name: 'incremental download of 10 changes: 1M-row table vs 1k-row table',
          ours,
          baseline,
          limit: 1.5,
        },
      ];
    });
  } finally {
    await db.destroy();
    await postgres.stop();
  }
}
