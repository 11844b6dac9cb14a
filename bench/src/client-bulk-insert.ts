import type { AddressInfo } from 'node:net';
import { createSyncClient } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import { boolean, defineSyncConfig, integer, table, text } from '@carburetor/core';
import { createPgKysely, createSyncRouter, migrateServer } from '@carburetor/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { sql } from 'kysely';
import { startBenchPostgres } from './bench-postgres.ts';
import { type Comparison, median, settle, time } from './measure.ts';

const ROWS = 10_000;

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

/** The baseline's table: the replica table's columns, primary key and bookkeeping columns. */
const PLAIN_TABLE = `CREATE TABLE plain (id TEXT PRIMARY KEY NOT NULL, owner_id TEXT NOT NULL, name TEXT NOT NULL,
  phone TEXT, published INTEGER NOT NULL, rank INTEGER NOT NULL, is_deleted INTEGER NOT NULL,
  last_synced_at TEXT, column_sync_metadata TEXT NOT NULL, dirty_flag TEXT)`;
const PLAIN_INSERT =
  'INSERT INTO plain (id, owner_id, name, phone, published, rank, is_deleted, last_synced_at, column_sync_metadata, dirty_flag) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)';

const rowsOf = (run: number) =>
  Array.from({ length: ROWS }, (_, i) => ({
    id: `0192f3c4-${String(run).padStart(4, '0')}-7000-8000-${String(i).padStart(12, '0')}`,
    owner_id: 'owner-1',
    name: `contact ${i} of run ${run}`,
    phone: `+1 555 ${String(i).padStart(7, '0')}`,
    published: i % 3 === 0,
    rank: i,
  }));

/**
 * (a) `client.insertContacts(rows)` of 10k rows into a fresh in-memory
 * replica, against raw inserts of the same rows into a table of the same
 * columns: one prepared statement, one transaction, the same metadata text
 * for every row (what any local-first store must write at least).
 * (b) Reported, no limit: the same 10k local rows until the server holds
 * them all (insert, then `sync()` through the router over HTTP), with the
 * upload's share.
 */
export async function clientBulkInsert(runs = 5) {
  const postgres = await startBenchPostgres('bench_client_bulk_insert');
  const db = createPgKysely(postgres.database.url);
  const server = createHTTPServer({ router: createSyncRouter(config, { db }) });
  server.keepAliveTimeout = 120_000;
  try {
    await migrateServer(db, config);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let run = 0;

    const ours = async () => {
      const rows = rowsOf(++run);
      const client = await createSyncClient(config, {
        driver: memoryDriver(),
        url,
        groups: ['everything'],
        realtime: false,
      });
      const ms = await time(() => client.insertContacts(rows));
      await client.close();
      return ms;
    };
    const baseline = async () => {
      const rows = rowsOf(++run);
      const driver = memoryDriver();
      await driver.execute(PLAIN_TABLE);
      const metadata = JSON.stringify(
        Object.fromEntries(
          ['owner_id', 'name', 'phone', 'published', 'rank', 'is_deleted'].map((c) => [
            c,
            { t: Date.now() * 1000, c: 'bench-client', d: 1 },
          ]),
        ),
      );
      const ms = await time(() =>
        driver.executeBatch(
          rows.map((r) => ({
            sql: PLAIN_INSERT,
            params: [
              r.id,
              r.owner_id,
              r.name,
              r.phone,
              r.published ? 1 : 0,
              r.rank,
              metadata,
              'insert',
            ],
          })),
          { transaction: true },
        ),
      );
      await driver.close();
      return ms;
    };
    const untilOnServer = async () => {
      const rows = rowsOf(++run);
      const client = await createSyncClient(config, {
        driver: memoryDriver(),
        url,
        groups: ['everything'],
        realtime: false,
      });
      const started = performance.now();
      await client.insertContacts(rows);
      const inserted = performance.now();
      await client.sync();
      const ended = performance.now();
      const held = await sql<{
        n: string;
      }>`select count(*) as n from contacts where name like ${`% of run ${run}`}`.execute(db);
      if (Number(held.rows[0]?.n) !== ROWS)
        throw new Error(`the server holds ${held.rows[0]?.n} of ${ROWS} rows`);
      await client.close();
      return { total: ended - started, insert: inserted - started };
    };

    /** The JSON bytes of the upload requests and their answers for 10k rows (a run of its own: counting costs time). */
    const uploadBytes = async () => {
      const rows = rowsOf(++run);
      const client = await createSyncClient(config, {
        driver: memoryDriver(),
        url,
        groups: ['everything'],
        realtime: false,
      });
      const bytes = { sent: 0, received: 0, requests: 0 };
      client.onActivity((a) => {
        if (a.kind !== 'upload' || !a.bytes) return;
        bytes.sent += a.bytes.sent;
        bytes.received += a.bytes.received;
        bytes.requests++;
      });
      await client.insertContacts(rows);
      await client.sync();
      await client.close();
      return bytes;
    };

    await ours(); // warm both paths once
    await baseline();
    await untilOnServer();
    const rows = await settle('client-bulk-insert', async (): Promise<Comparison[]> => {
      const bulk = { ours: [] as number[], baseline: [] as number[] };
      for (let i = 0; i < runs; i++) {
        bulk.baseline.push(await baseline());
        bulk.ours.push(await ours());
      }
      return [
        {
          name: `insertContacts() of ${ROWS / 1000}k rows into a fresh replica vs raw inserts (one prepared statement, one transaction)`,
          ...bulk,
          limit: 1.5,
        },
      ];
    });
    // (b), reported on the console: no baseline, so no ratio.
    const synced: { total: number; insert: number }[] = [];
    for (let i = 0; i < runs; i++) synced.push(await untilOnServer());
    const totals = synced.map((s) => s.total).sort((a, b) => a - b);
    const inserts = synced.map((s) => s.insert).sort((a, b) => a - b);
    console.log(
      `client-bulk-insert: ${ROWS / 1000}k local rows until the server holds them all: median ${median(totals).toFixed(0)} ms (min ${totals[0]!.toFixed(0)}, max ${totals.at(-1)!.toFixed(0)}; the insert ${median(inserts).toFixed(0)} ms of it), ${runs} runs`,
    );
    const bytes = await uploadBytes();
    console.log(
      `client-bulk-insert: the upload of ${ROWS / 1000}k rows: ${bytes.requests} requests of ${(bytes.sent / 1e6).toFixed(2)} MB in all, answered with ${(bytes.received / 1e6).toFixed(2)} MB (JSON)`,
    );
    return rows;
  } finally {
    server.close();
    await db.destroy();
    await postgres.stop();
  }
}
