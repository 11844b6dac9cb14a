import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSyncClient } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import {
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
  uploadChanges,
} from '@carburetor/server';
import { createTRPCClient, httpLink } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { startBenchPostgres } from './bench-postgres.ts';
import { type Comparison, median, percentile, settle, time } from './measure.ts';

const config = defineSyncConfig({
  tables: {
    contact: table({ plural: 'push_contacts' }, { owner_id: text().immutable(), name: text() }),
  },
  syncGroups: { mine: { contact: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

let serial = 0;
function insert(owner: string): UploadRequest {
  const t = Date.now() * 1000;
  return {
    protocol: PROTOCOL_VERSION,
    clientId: 'bench-raw',
    tables: {
      contact: [
        {
          op: 'insert',
          id: `raw-${++serial}`,
          columns: { owner_id: { value: owner, t }, name: { value: `raw ${serial}`, t } },
        },
      ],
    },
  };
}

/**
 * (2) A's write visible on B, default settings: two sync clients of one
 * user (one scope) on one router over HTTP, both started with the defaults;
 * timed from `insertContact()` on A to B's change event with the row (A's
 * loop uploads at once, the hub pushes the page, B applies it: no download).
 * Baseline: one plain upload round trip of one row through the same router.
 * (3) Page reads per write burst: 200 in-process subscribers of one scope
 * (`hub.subscribe` taking pushes), a burst of 20 uploads, the hub's reads
 * for pushed pages counted per burst and per change window (limit 1 each:
 * a poke due at once waits for this process's uploads under way).
 */
export async function realtimePush(trials = 60) {
  const postgres = await startBenchPostgres('bench_realtime_push');
  const db = createPgKysely(postgres.database.url);
  const hub = createChangeHub(config, { db, onError: () => undefined });
  const router = createSyncRouter(config, {
    db,
    changes: hub,
    context: (ctx: { user: string }) => ({ userId: ctx.user }),
  });
  const server = createHTTPServer({
    router,
    createContext: () => ({ user: 'bench-user' }),
  });
  server.keepAliveTimeout = 120_000;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    await migrateServer(db, config);
    const url = await listen(server);
    const user = 'bench-user';
    // Every request over HTTP is this user's (the server's context says so): one scope.
    const clientOf = async () => {
      const client = await createSyncClient(config, {
        driver: memoryDriver(),
        url,
        groups: ['mine'],
      });
      closers.push(() => client.close());
      client.start();
      return client;
    };
    const a = await clientOf();
    const b = await clientOf();
    const raw = createTRPCClient<SyncRouter<typeof config>>({ links: [httpLink({ url })] });
    while (!a.status.live || !b.status.live || !b.status.hasSynced) await sleep(10);
    // The scope's first change starts its chain (B downloads that one).
    const first = await a.insertContact({ owner_id: user, name: 'chain' });
    while ((await b.activePushContacts().where('id', '=', first.id).execute()).length === 0)
      await sleep(5);

    // When each row reached B (its change event from the push).
    const seenOnB = new Map<string, number>();
    b.onChange((event) => {
      if (event.source !== 'sync') return;
      for (const rowId of event.ids?.['contact'] ?? []) seenOnB.set(rowId, performance.now());
    });
    const trial = async () => {
      const started = performance.now();
      const { id } = await a.insertContact({ owner_id: user, name: `trial ${serial++}` });
      while (!seenOnB.has(id)) await sleep(1);
      const visible = seenOnB.get(id)! - started;
      await sleep(80); // a lone change: past the hub's window
      const plain = await time(() => raw.mine.upload.mutate(insert(user)));
      await sleep(80);
      return { visible, plain };
    };
    for (let w = 0; w < 5; w++) await trial();

    // (3): 200 subscribers of one scope in process, bursts of 20 uploads.
    let delivered = 0;
    const subscribers = Array.from({ length: 200 }, (_, k) =>
      hub.subscribe(
        'mine',
        { userId: 'burst-user' },
        () => {
          if (k === 0) delivered++;
        },
        { pushes: true },
      ),
    );
    closers.push(async () => {
      for (const unsubscribe of subscribers) unsubscribe();
    });
    await hub.ready();
    /** One burst: the hub's page reads, and the windows (events one subscriber got) they served. */
    const burst = async () => {
      const before = { reads: hub.pushReads, events: delivered };
      await Promise.all(
        Array.from({ length: 20 }, () =>
          uploadChanges(
            db,
            config,
            'mine',
            insert('burst-user'),
            { userId: 'burst-user' },
            {
              changes: hub,
            },
          ),
        ),
      );
      await hub.flush();
      await sleep(200); // every window of the burst delivered
      return { reads: hub.pushReads - before.reads, windows: delivered - before.events };
    };
    await burst(); // starts the scope's chain

    return await settle('realtime-push', async (): Promise<Comparison[]> => {
      const visible: number[] = [];
      const plain: number[] = [];
      for (let t = 0; t < trials; t++) {
        const sample = await trial();
        visible.push(sample.visible);
        plain.push(sample.plain);
      }
      const reads: number[] = [];
      const perWindow: number[] = [];
      for (let r = 0; r < 3; r++) {
        const b = await burst();
        reads.push(b.reads);
        perWindow.push(b.reads / Math.max(1, b.windows));
      }
      console.log(
        `realtime-push: A's write on B p50 ${median(visible).toFixed(2)} ms, p95 ${percentile(visible, 95).toFixed(2)} ms; one upload round trip p50 ${median(plain).toFixed(2)} ms, p95 ${percentile(plain, 95).toFixed(2)} ms; page reads per burst of 20 uploads with 200 subscribers: ${reads.join(', ')} (per change window: ${perWindow.join(', ')})`,
      );
      return [
        {
          name: "p50: A's insert → visible on B (pushed, defaults) vs one plain upload round trip",
          ours: visible,
          baseline: plain,
          limit: 1.5,
        },
        {
          name: 'p95 of the same (one figure each per round)',
          ours: [percentile(visible, 95)],
          baseline: [percentile(plain, 95)],
          limit: 3,
        },
        {
          name: 'page reads per change window (the events one subscriber gets), 200 subscribers of one scope, bursts of 20 uploads (difference from 0)',
          ours: perWindow,
          baseline: perWindow.map(() => 0),
          limit: 1,
          mode: 'difference',
          unit: 'reads',
        },
        {
          name: 'page reads per burst of 20 concurrent uploads (the hub waits for the uploads under way before it reads), 200 subscribers of one scope (difference from 0)',
          ours: reads,
          baseline: reads.map(() => 0),
          limit: 1,
          mode: 'difference',
          unit: 'reads',
        },
      ];
    });
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await hub.close();
    server.close();
    server.closeAllConnections();
    await db.destroy();
    await postgres.stop();
  }
}
