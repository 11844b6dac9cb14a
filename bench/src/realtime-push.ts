import { type ChildProcess, fork } from 'node:child_process';
import { createSyncClient, type SyncClient } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import { PROTOCOL_VERSION, type UploadRequest } from '@carburetor/core';
import { createPgKysely, migrateServer, type SyncRouter, uploadChanges } from '@carburetor/server';
import { createTRPCClient, httpLink } from '@trpc/client';
import { startBenchPostgres } from './bench-postgres.ts';
import { nextMessage, wallNow } from './child-messages.ts';
import { type Comparison, median, percentile, settle, time } from './measure.ts';
import {
  realtimePushConfig as config,
  type RealtimePushMessage,
  REALTIME_PUSH_USERS as users,
} from './realtime-push-config.ts';
import { createPushServer } from './realtime-push-router.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

/** One way of running the two peers and the server, and what (2) needs of it. */
interface Setup {
  /** Its user: one scope per setup. */
  readonly user: string;
  readonly a: SyncClient<typeof config, 'mine'>;
  readonly raw: ReturnType<typeof createTRPCClient<SyncRouter<typeof config>>>;
  /** When each row reached B (its change event with the row), wall-clock ms. */
  readonly seenOnB: Map<string, number>;
  /** What brought each change event's rows to B: 'push' or 'download', counted. */
  readonly byOnB: Map<string, number>;
}

/** A's insert until B shows it, then a plain upload round trip (the baseline), lone changes apart. */
async function trial({ user, a, raw, seenOnB }: Setup) {
  const started = wallNow();
  const { id } = await a.insertContact({ owner_id: user, name: `trial ${serial++}` });
  while (!seenOnB.has(id)) await sleep(1);
  const visible = seenOnB.get(id)! - started;
  await sleep(80); // a lone change: past the hub's window
  const plain = await time(() => raw.mine.upload.mutate(insert(user)));
  await sleep(80);
  return { visible, plain };
}

/**
 * (2) A's write visible on B, default settings: two sync clients of one
 * user (one scope) and a router over HTTP, each started with the defaults;
 * timed from `insertContact()` on A to B's change event with the row (A's
 * loop uploads at once, the hub pushes the page, B applies it: no
 * download). Baseline: one plain upload round trip of one row from A's
 * process through the same router. Measured with the server, A and B each in
 * a process of their own (as an app's server and two devices run: the
 * limit), and with all three in this one process (reported: every program's
 * work then queues on one event loop, A's own included).
 * (3) Page reads per write burst: 200 in-process subscribers of one scope
 * (`hub.subscribe` taking pushes), a burst of 20 uploads, the hub's reads
 * for pushed pages counted per burst and per change window (limit 1 each:
 * a poke due at once waits for this process's uploads under way).
 */
export async function realtimePush(trials = 40) {
  const postgres = await startBenchPostgres('bench_realtime_push');
  const databaseUrl = postgres.database.url;
  const db = createPgKysely(databaseUrl);
  const server = createPushServer(db, users.together);
  const { hub } = server;
  const closers: (() => Promise<unknown>)[] = [];
  const processes: ChildProcess[] = [];
  try {
    await migrateServer(db, config);
    const clientOf = async (url: string) => {
      const client = await createSyncClient(config, {
        driver: memoryDriver(),
        url,
        groups: ['mine'],
      });
      closers.push(() => client.close());
      client.start();
      while (!client.status.live || !client.status.hasSynced) await sleep(10);
      return client;
    };
    const rawOf = (url: string) =>
      createTRPCClient<SyncRouter<typeof config>>({ links: [httpLink({ url })] });
    /** Waits for the scope's first change, which starts its chain (B downloads that one). */
    const warm = async (setup: Setup) => {
      const first = await setup.a.insertContact({ owner_id: setup.user, name: 'chain' });
      while (!setup.seenOnB.has(first.id)) await sleep(5);
      for (let w = 0; w < 5; w++) await trial(setup);
    };

    // The server and B in processes of their own; A and the plain uploads here.
    const fork_ = (file: string) => {
      const child = fork(new URL(file, import.meta.url), { stdio: 'inherit' });
      processes.push(child);
      return child;
    };
    const serverProcess = fork_('./realtime-push-server.ts');
    serverProcess.send({
      type: 'start',
      databaseUrl,
      user: users.apart,
    } satisfies RealtimePushMessage);
    const remote = await nextMessage<{ url: string }>(serverProcess, 'listening');
    const peer = fork_('./realtime-push-peer.ts');
    const apart: Setup = {
      user: users.apart,
      a: await clientOf(remote.url),
      raw: rawOf(remote.url),
      seenOnB: new Map(),
      byOnB: new Map(),
    };
    peer.on('message', (message: RealtimePushMessage) => {
      if (message.type !== 'seen') return;
      for (const id of message.ids) apart.seenOnB.set(id, message.at);
      apart.byOnB.set(message.by, (apart.byOnB.get(message.by) ?? 0) + 1);
    });
    peer.send({ type: 'start', url: remote.url } satisfies RealtimePushMessage);
    await nextMessage(peer, 'ready');
    await warm(apart);

    // All three in this process.
    const url = await server.listen();
    const together: Setup = {
      user: users.together,
      a: await clientOf(url),
      raw: rawOf(url),
      seenOnB: new Map(),
      byOnB: new Map(),
    };
    const b = await clientOf(url);
    b.onChange((event) => {
      if (event.source !== 'sync') return;
      const ids = event.ids?.['contact'] ?? [];
      if (ids.length === 0) return;
      for (const id of ids) together.seenOnB.set(id, wallNow());
      const by = b.recentActivity().at(-1)?.kind ?? 'unknown';
      together.byOnB.set(by, (together.byOnB.get(by) ?? 0) + 1);
    });
    await warm(together);

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
      const samples = async (setup: Setup) => {
        setup.byOnB.clear();
        const visible: number[] = [];
        const plain: number[] = [];
        for (let t = 0; t < trials; t++) {
          const sample = await trial(setup);
          visible.push(sample.visible);
          plain.push(sample.plain);
        }
        return { visible, plain, by: new Map(setup.byOnB) };
      };
      const processes = await samples(apart);
      const oneProcess = await samples(together);
      const reads: number[] = [];
      const perWindow: number[] = [];
      for (let r = 0; r < 3; r++) {
        const b = await burst();
        reads.push(b.reads);
        perWindow.push(b.reads / Math.max(1, b.windows));
      }
      const figures = ({ visible, plain, by }: Awaited<ReturnType<typeof samples>>) =>
        `A's write on B p50 ${median(visible).toFixed(2)} ms, p95 ${percentile(visible, 95).toFixed(2)} ms; one upload round trip p50 ${median(plain).toFixed(2)} ms, p95 ${percentile(plain, 95).toFixed(2)} ms; B's change events by what brought them: ${[...by].map(([kind, n]) => `${kind} ${n}`).join(', ')}`;
      console.log(
        `realtime-push: processes apart: ${figures(processes)}; one process: ${figures(oneProcess)}; page reads per burst of 20 uploads with 200 subscribers: ${reads.join(', ')} (per change window: ${perWindow.join(', ')})`,
      );
      return [
        {
          name: "p50: A's insert → visible on B (pushed, defaults; server, A and B each in a process of their own) vs one plain upload round trip from A's process",
          ours: processes.visible,
          baseline: processes.plain,
          limit: 1.5,
        },
        {
          name: 'p95 of the same (one figure each per round)',
          ours: [percentile(processes.visible, 95)],
          baseline: [percentile(processes.plain, 95)],
          limit: 3,
        },
        {
          name: "p50 with the server, A and B all in one process (one event loop: each one's work waits for the others'), reported",
          ours: oneProcess.visible,
          baseline: oneProcess.plain,
          limit: 2,
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
    for (const child of processes) {
      const stopped = nextMessage(child, 'stopped').catch(() => undefined);
      child.send({ type: 'stop' } satisfies RealtimePushMessage);
      await Promise.race([stopped, sleep(5_000)]);
      child.kill();
    }
    await server.close();
    await db.destroy();
    await postgres.stop();
  }
}
