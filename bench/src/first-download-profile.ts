// Where the time of a 100k-row first download goes in Node (issue 25): the
// client-first-download benchmark's setup (server and client in one process,
// real HTTP, embedded PostgreSQL), sampled by V8's profiler around
// `client.sync()`, self time summed by where the code lives.
//
//   cd bench && npx tsx --conditions=@carburetor/source src/first-download-profile.ts [pageSize] [runs]

import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { createSyncClient } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import { boolean, defineSyncConfig, integer, table, text, writeTimeFromMs } from '@carburetor/core';
import { createPgKysely, createSyncRouter, migrateServer } from '@carburetor/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { sql } from 'kysely';
import { startBenchPostgres } from './bench-postgres.ts';

const ROWS = 100_000;
const PAGE = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 3);

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

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Whether a place is code of ours or of a dependency (not Node's internals, not a native). */
const ownsTime = (place: string) => !place.startsWith('(') && !place.startsWith('node:');

/** Where a function lives, coarsely: our packages by file, dependencies by package. */
function placeOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') return `(${functionName || 'native'})`;
  const ours = /packages\/(\w+)\/src\/(.+)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1]!;
  if (url.startsWith('node:')) return url;
  return url.split('/').slice(-2).join('/');
}

const postgres = await startBenchPostgres('bench_first_download_profile');
const db = createPgKysely(postgres.database.url);
const server = createHTTPServer({ router: createSyncRouter(config, { db }) });
server.keepAliveTimeout = 120_000;
try {
  await migrateServer(db, config);
  const metadata = JSON.stringify(
    Object.fromEntries(
      ['owner_id', 'name', 'phone', 'published', 'rank', 'is_deleted'].map((c, k) => [
        c,
        { t: writeTimeFromMs(Date.now() - 60_000) + k, c: 'device-0123456789abcdef' },
      ]),
    ),
  );
  await sql`insert into contacts (id, owner_id, name, phone, published, rank, column_sync_metadata)
    select '0192f3c4-0000-7000-8000-' || lpad(n::text, 12, '0'), 'user-' || (n % 100), 'Contact number ' || n,
      '+1 555 ' || lpad((n % 10000)::text, 4, '0'), n % 2 = 0, n % 1000, ${metadata}::jsonb
    from generate_series(1, ${ROWS}) n`.execute(db);
  await sql`vacuum analyze contacts`.execute(db);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  const self = new Map<string, number>();
  const byFunction = new Map<string, number>();
  // Natives and Node internals charged to the nearest function of ours or of a dependency above them.
  const byOwner = new Map<string, number>();
  let sampled = 0;
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const client = await createSyncClient(config, {
      driver: memoryDriver(),
      url,
      groups: ['everything'],
      pageSize: PAGE,
      realtime: false,
    });
    const profile = run > 0; // the first run warms up
    if (profile) await session.post('Profiler.start');
    const started = performance.now();
    await client.sync();
    const ms = performance.now() - started;
    if (profile) {
      times.push(ms);
      const { profile: p } = await session.post('Profiler.stop');
      const nodes = new Map((p.nodes as ProfileNode[]).map((n) => [n.id, n]));
      const parent = new Map<number, number>();
      for (const n of nodes.values()) for (const c of n.children ?? []) parent.set(c, n.id);
      const deltas = p.timeDeltas ?? [];
      (p.samples ?? []).forEach((id: number, i: number) => {
        const node = nodes.get(id)!;
        const us = deltas[i + 1] ?? 0;
        const place = placeOf(node.callFrame);
        self.set(place, (self.get(place) ?? 0) + us);
        const fn = `${place} ${node.callFrame.functionName || '(anonymous)'}:${node.callFrame.lineNumber + 1}`;
        byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
        let owner: ProfileNode | undefined = node;
        while (owner && !ownsTime(placeOf(owner.callFrame))) {
          const up = parent.get(owner.id);
          owner = up === undefined ? undefined : nodes.get(up);
        }
        const key = owner
          ? `${placeOf(owner.callFrame)} ${owner.callFrame.functionName || '(anonymous)'}`
          : place;
        byOwner.set(key, (byOwner.get(key) ?? 0) + us);
        sampled += us;
      });
    }
    await client.close();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(
    `first download of ${ROWS} rows, pages of ${PAGE}: median ${median.toFixed(0)} ms of ${RUNS} runs (${times.map((t) => t.toFixed(0)).join(', ')}); load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`,
  );
  const show = (title: string, map: Map<string, number>, n: number) => {
    console.log(`\n${title} (share of ${(sampled / 1000 / RUNS).toFixed(0)} ms sampled per run):`);
    for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      console.log(
        `${((us / sampled) * 100).toFixed(1).padStart(5)}%  ${(us / 1000 / RUNS).toFixed(0).padStart(5)} ms  ${k}`,
      );
    }
  };
  show('self time by place', self, 25);
  show('self time by function', byFunction, 30);
  show('time by the nearest function of ours or of a dependency', byOwner, 30);
} finally {
  server.close();
  await db.destroy();
  await postgres.stop();
}
