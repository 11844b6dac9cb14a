import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type DownloadRequest,
  defineSyncConfig,
  PROTOCOL_VERSION,
  table,
  text,
  type UploadRequest,
} from '@carburetor/core';
import {
  createChangeHub,
  createPgKysely,
  createSyncRouter,
  migrateServer,
  type SyncRouter,
} from '@carburetor/server';
import { createTRPCClient, httpLink } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { sql } from 'kysely';
import { startBenchPostgres } from './bench-postgres.ts';
import { type Comparison, median, percentile, type Settled, settle, time } from './measure.ts';

const config = defineSyncConfig({
  tables: {
    contact: table({ plural: 'rt_contacts' }, { owner_id: text().immutable(), name: text() }),
  },
  syncGroups: { everything: { contact: true } },
});
type Client = ReturnType<typeof createTRPCClient<SyncRouter<typeof config>>>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/**
 * The `everything.changes` SSE stream read with plain fetch (the bench has
 * no EventSource in Node 20): the same wire format httpSubscriptionLink
 * reads. `next()` resolves with the time the next poke arrived.
 */
function sseSubscriber(url: string) {
  const controller = new AbortController();
  const arrived: number[] = [];
  let waiter: (() => void) | undefined;
  void (async () => {
    const response = await fetch(`${url}/everything.changes`, {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        // A poke is a plain message (no `event:` line) whose data is { tables }.
        if (!event.includes('event:') && event.includes('data:')) {
          arrived.push(performance.now());
          waiter?.();
        }
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  return {
    /** Resolves with the arrival time of poke number `n` (from 1). */
    async poke(n: number): Promise<number> {
      while (arrived.length < n) {
        await new Promise<void>((resolve) => {
          waiter = resolve;
        });
      }
      return arrived[n - 1]!;
    },
    close: () => controller.abort(),
  };
}

function insert(id: string): UploadRequest {
  const t = Date.now() * 1000;
  return {
    protocol: PROTOCOL_VERSION,
    clientId: 'bench-writer',
    tables: {
      contact: [
        {
          op: 'insert',
          id,
          columns: { owner_id: { value: 'u1', t }, name: { value: `Row ${id}`, t } },
        },
      ],
    },
  };
}

const request = (cursor: string | null): DownloadRequest => ({
  protocol: PROTOCOL_VERSION,
  clientId: 'bench-reader',
  tables: { contact: { cursor, hasRows: cursor !== null } },
});

/**
 * Realtime propagation across two server instances (two routers, two hubs,
 * two LISTEN connections): writer uploads one row through instance A; the
 * time from its acknowledgement until a subscriber on instance B has had its
 * poke and its download has returned the row. Against one plain download
 * call of one new row on B.
 */
export async function realtimePropagation(trials = 100): Promise<Settled[]> {
  const postgres = await startBenchPostgres('bench_realtime');
  const dbA = createPgKysely(postgres.database.url);
  const dbB = createPgKysely(postgres.database.url);
  const hubA = createChangeHub(config, { db: dbA });
  const hubB = createChangeHub(config, { db: dbB });
  const serverA = createHTTPServer({
    router: createSyncRouter(config, { db: dbA, changes: hubA }),
  });
  const serverB = createHTTPServer({
    router: createSyncRouter(config, { db: dbB, changes: hubB }),
  });
  const subscriber = { close: () => {} };
  try {
    await migrateServer(dbA, config);
    await sql`insert into rt_contacts (id, owner_id, name)
      select 'seed-' || n, 'u' || (n % 50), 'Seed ' || n from generate_series(1, 10000) n`.execute(
      dbA,
    );
    const urlA = await listen(serverA);
    const urlB = await listen(serverB);
    const writer: Client = createTRPCClient({ links: [httpLink({ url: urlA })] });
    const reader: Client = createTRPCClient({ links: [httpLink({ url: urlB })] });
    let cursor: string | null = null;
    const download = async (wanted?: string) => {
      for (;;) {
        const page = await reader.everything.download.mutate(request(cursor));
        const part = page.tables['contact']!;
        cursor = part.cursor;
        if (!page.hasMore) {
          if (wanted && !part.rows.some((row) => row[0] === wanted)) {
            throw new Error(`the download did not return row ${wanted}`);
          }
          return;
        }
      }
    };
    const sse = sseSubscriber(urlB);
    subscriber.close = sse.close;
    let pokes = 1;
    await sse.poke(pokes); // the first poke: listening
    await download(); // caught up

    let i = 0;
    /** One trial: ours (from the ack, from the upload request) and the plain download. */
    const trial = async () => {
      i++;
      // Ours: upload on A, then B's subscriber's poke and download.
      const id = `trial-${i}`;
      const start = performance.now();
      pokes++;
      const seen = sse.poke(pokes).then(async () => {
        await download(id);
        return performance.now();
      });
      await writer.everything.upload.mutate(insert(id));
      const acked = performance.now();
      const done = await seen;
      // Baseline: one plain download call returning one new row (written untimed first).
      await sleep(60); // past the hub's coalescing window, as a lone change is
      const plainId = `plain-${i}`;
      pokes++;
      await writer.everything.upload.mutate(insert(plainId));
      await sse.poke(pokes);
      const plainTime = await time(() => download(plainId));
      await sleep(60);
      return { fromAck: done - acked, fromUpload: done - start, plain: plainTime };
    };
    for (let w = 0; w < 5; w++) await trial(); // warm-ups
    return await settle('realtime-propagation', async (): Promise<Comparison[]> => {
      const fromAck: number[] = [];
      const fromUpload: number[] = [];
      const plain: number[] = [];
      for (let t = 0; t < trials; t++) {
        const sample = await trial();
        fromAck.push(sample.fromAck);
        fromUpload.push(sample.fromUpload);
        plain.push(sample.plain);
      }
      console.log(
        `realtime: ack→row p50 ${median(fromAck).toFixed(2)} ms, p95 ${percentile(fromAck, 95).toFixed(2)} ms; upload start→row p50 ${median(fromUpload).toFixed(2)} ms; plain download p50 ${median(plain).toFixed(2)} ms, p95 ${percentile(plain, 95).toFixed(2)} ms`,
      );
      return [
        {
          name: 'p50: acknowledged upload on A → poke on B → download on B returned the row, vs one plain download',
          ours: fromAck,
          baseline: plain,
          limit: 3,
        },
        {
          name: 'p95 of the same (one figure each per round)',
          ours: [percentile(fromAck, 95)],
          baseline: [percentile(plain, 95)],
          limit: 5,
        },
        {
          name: 'p50 from the upload request instead of its ack (includes the upload), vs one plain download',
          ours: fromUpload,
          baseline: plain,
          limit: 6,
        },
      ];
    });
  } finally {
    subscriber.close();
    await hubA.close();
    await hubB.close();
    serverA.close();
    serverB.close();
    serverA.closeAllConnections();
    serverB.closeAllConnections();
    await dbA.destroy();
    await dbB.destroy();
    await postgres.stop();
  }
}
