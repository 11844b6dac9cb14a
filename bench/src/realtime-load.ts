import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DOWNLOAD_ROW, defineSyncConfig, table, text } from '@carburetor/core';
import {
  createChangeHub,
  createPgKysely,
  createSyncRouter,
  migrateServer,
} from '@carburetor/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import { startBenchPostgres } from './bench-postgres.ts';
import { nextMessage } from './child-messages.ts';
import { loadProbe } from './measure.ts';
import {
  holdingsHash,
  type LoadClient,
  type WorkerCommand,
  type WorkerReport,
} from './realtime-load-clients.ts';

const CLIENTS = 200;
const WORKERS = 2;
const WRITE_SECONDS = Number(process.env['LOAD_SECONDS'] ?? 60);

const config = defineSyncConfig({
  tables: { note: table({ owner_id: text().immutable(), body: text() }) },
  syncGroups: {
    mine: { note: { restrictTo: { column: 'owner_id', context: 'userId' } } },
    everything: { note: { readOnly: true } },
  },
});

interface Scenario {
  readonly name: string;
  readonly instances: 1 | 2;
  /** Private: 100 users with 2 devices each (in different worker processes). Shared: 200 users, everyone subscribes to every row. */
  readonly shared: boolean;
  /** Clients subscribe with protocol 2 and take pushed pages; else protocol 1, pokes and downloads. */
  readonly pushes: boolean;
}

const SETUPS = [
  { name: '1 instance, private groups (100 users x 2 devices)', instances: 1, shared: false },
  {
    name: '2 instances, private groups (devices of a user on different instances)',
    instances: 2,
    shared: false,
  },
  {
    name: '2 instances, one shared read-only group (every write pokes all 200)',
    instances: 2,
    shared: true,
  },
] as const;

/** Each setup with protocol 1 clients (pokes, then downloads: before pushed pages) and protocol 2 ones. */
const SCENARIOS: readonly Scenario[] = SETUPS.flatMap((setup) => [
  { ...setup, pushes: false },
  { ...setup, pushes: true },
]);

/** One scenario's outcome. */
interface Outcome {
  scenario: Scenario;
  writes: number;
  lost: number;
  errors: string[];
  converged: number;
  upload: { p50: number; p99: number };
  propagation: { p50: number; p99: number; count: number };
  downloads: number;
  pokes: number;
  pushed: number;
  loadavg: [number, number];
  others: number | undefined;
}

function percentiles(histogram: Record<number, number>) {
  const entries = Object.entries(histogram)
    .map(([ms, n]) => [Number(ms), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const count = entries.reduce((sum, [, n]) => sum + n, 0);
  const at = (p: number) => {
    let seen = 0;
    for (const [ms, n] of entries) {
      seen += n;
      if (seen >= p * count) return ms;
    }
    return Number.NaN;
  };
  return { p50: at(0.5), p99: at(0.99), count };
}

function merge(into: Record<number, number>, from: Record<number, number>) {
  for (const [ms, n] of Object.entries(from)) into[Number(ms)] = (into[Number(ms)] ?? 0) + n;
}

/**
 * The realtime load check: 200 clients in 2 worker processes for 60 s, each
 * subscribed to its group's `changes` (SSE), downloading on every poke and
 * uploading a row every 1-3 s, against one or two server instances (a
 * router with its own pool and ChangeHub each, on one embedded PostgreSQL,
 * in this process). Passes with 0 errors, 0 lost writes and every client
 * holding exactly its scope's rows at the end; reports upload and
 * propagation (from the upload request to the row downloaded by another
 * client) p50/p99. Not a capacity figure: clients, servers and PostgreSQL
 * share 2 cores.
 */
export async function realtimeLoad(): Promise<[]> {
  const postgres = await startBenchPostgres('realtime-load-bench');
  const outcomes: Outcome[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: the bench's schema is the config's
  const admin: Kysely<any> = createPgKysely(postgres.database.url);
  try {
    await migrateServer(admin, config);
    for (const scenario of SCENARIOS) {
      await sql`truncate notes`.execute(admin);
      outcomes.push(await runScenario(scenario, postgres.database.url, admin));
      console.log(`realtime-load: ${describe(outcomes.at(-1)!)}`);
    }
  } finally {
    await admin.destroy();
    await postgres.stop();
  }
  writeReport(outcomes);
  const failed = outcomes.filter((o) => o.lost > 0 || o.errors.length > 0 || o.converged < CLIENTS);
  if (failed.length > 0) {
    throw new Error(`the load check failed: ${failed.map(describe).join('; ')}`);
  }
  return [];
}

async function runScenario(
  scenario: Scenario,
  url: string,
  admin: Kysely<unknown>,
): Promise<Outcome> {
  const servers: Server[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: the bench's schema is the config's
  const pools: Kysely<any>[] = [];
  const hubs: ReturnType<typeof createChangeHub>[] = [];
  const urls: string[] = [];
  for (let i = 0; i < scenario.instances; i++) {
    const db = createPgKysely({ connectionString: url, max: 10 });
    const hub = createChangeHub(config, { db });
    const server = createHTTPServer({
      router: createSyncRouter(config, {
        db,
        changes: hub,
        context: (ctx: { user: string | undefined }) => ({ userId: ctx.user }),
      }),
      createContext: ({ req }) => ({ user: req.headers['x-user'] as string | undefined }),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    servers.push(server);
    pools.push(db);
    hubs.push(hub);
  }
  const clients: LoadClient[] = Array.from({ length: CLIENTS }, (_, index) => {
    // Private: clients 2u and 2u+1 are user u's two devices, in different workers (index % 2)
    // and, with two instances, on different instances.
    const user = scenario.shared ? `user-${index}` : `user-${index >> 1}`;
    return {
      index,
      user,
      url: urls[index % scenario.instances]!,
      group: scenario.shared ? 'everything' : 'mine',
      pushes: scenario.pushes,
    };
  });
  const workers = Array.from({ length: WORKERS }, () =>
    fork(new URL('./realtime-load-clients.ts', import.meta.url), { stdio: 'inherit' }),
  );
  const probe = loadProbe();
  try {
    const written = workers.map((w) => nextMessage(w, 'written'));
    workers.forEach((worker, w) => {
      const command: WorkerCommand = {
        type: 'start',
        clients: clients.filter((c) => c.index % WORKERS === w),
        writeMs: WRITE_SECONDS * 1000,
        valuesAt: DOWNLOAD_ROW.values,
      };
      worker.send(command);
    });
    await Promise.all(written);
    // Let the last pokes and downloads land, then every client catches up once more.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const reports = await Promise.all(
      workers.map((worker) => {
        const report = nextMessage<WorkerReport>(worker, 'report');
        worker.send({ type: 'finish' } satisfies WorkerCommand);
        return report;
      }),
    );
    const load = probe();
    const upload: Record<number, number> = {};
    const propagation: Record<number, number> = {};
    const errors: string[] = [];
    const acked: [string, string][] = [];
    const holdings: WorkerReport['holdings'] = {};
    let downloads = 0;
    let pokes = 0;
    let pushed = 0;
    for (const report of reports) {
      merge(upload, report.uploadMs);
      merge(propagation, report.propagationMs);
      errors.push(...report.errors);
      acked.push(...report.acked);
      Object.assign(holdings, report.holdings);
      downloads += report.downloads;
      pokes += report.pokes;
      pushed += report.pushed;
    }
    const { rows } = await sql<{ id: string; owner_id: string; body: string }>`
      select id, owner_id, body from notes`.execute(admin);
    const stored = new Map(rows.map((r) => [r.id, r.body]));
    const lost = acked.filter(([id, body]) => stored.get(id) !== body).length;
    const byOwner = new Map<string, [string, string][]>();
    for (const r of rows) {
      const list = byOwner.get(r.owner_id) ?? [];
      list.push([r.id, r.body]);
      byOwner.set(r.owner_id, list);
    }
    const everything = holdingsHash(rows.map((r) => [r.id, r.body]));
    const converged = clients.filter((c) => {
      const expected = scenario.shared ? everything : holdingsHash(byOwner.get(c.user) ?? []);
      return holdings[c.index]?.hash === expected;
    }).length;
    const p = percentiles(upload);
    return {
      scenario,
      writes: acked.length,
      lost,
      errors,
      converged,
      upload: { p50: p.p50, p99: p.p99 },
      propagation: percentiles(propagation),
      downloads,
      pokes,
      pushed,
      loadavg: load.loadavg,
      others: load.othersCores,
    };
  } finally {
    for (const worker of workers) worker.kill();
    await Promise.all(hubs.map((hub) => hub.close()));
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    await Promise.all(pools.map((db) => db.destroy()));
  }
}

/** A scenario as the report names it. */
const nameOf = (s: Scenario) =>
  `${s.name}, ${s.pushes ? 'protocol 2 (pushed pages)' : 'protocol 1 (pokes)'}`;

function describe(o: Outcome): string {
  return `${nameOf(o.scenario)}: ${o.writes} writes, ${o.lost} lost, ${o.errors.length} errors${o.errors.length > 0 ? ` (first: ${o.errors[0]})` : ''}, ${o.converged}/${CLIENTS} converged, upload p50 ${o.upload.p50} ms p99 ${o.upload.p99} ms, propagation p50 ${o.propagation.p50} ms p99 ${o.propagation.p99} ms (${o.propagation.count} deliveries), ${o.downloads} downloads, ${o.pokes} events, ${o.pushed} pages applied`;
}

function writeReport(outcomes: Outcome[]) {
  const lines = [
    '# Realtime load check',
    '',
    `${CLIENTS} clients in ${WORKERS} worker processes for ${WRITE_SECONDS} s, realtime on: each subscribes to its group's \`changes\` over SSE and uploads one new row every 1-3 s through \`mine\`. Protocol 1 clients download (httpLink) on every poke (the load check before pushed pages); protocol 2 clients apply the page pushed with an event where it continues their cursor (core's \`pushContinues\`, as the sync client) and download otherwise (a gap, a table without a page, an event during a download). Servers: one or two router instances in the bench's process (own pool of 10 and own ChangeHub each, pushes on as by default, PostgreSQL bus), standalone adapter, one embedded PostgreSQL (fsync off). Private: 100 users with two devices each, the devices in different worker processes (and on different instances when there are two); shared: 200 users, all subscribed to one read-only group holding every row. Propagation: from a write's upload request to another client's download (or pushed page) bringing it. Lost: acknowledged writes not in the database at the end; converged: clients whose rows equal their scope's in the database after a last download. A load check, not a capacity figure: clients, servers and PostgreSQL share 2 cores.`,
    '',
    `Measured ${new Date().toISOString()} on ${process.platform}/${process.arch}, Node ${process.version}.`,
    '',
    '| scenario | writes | lost | errors | converged | upload p50 / p99 | propagation p50 / p99 (deliveries) | downloads | events (pages applied) | load |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...outcomes.map(
      (o) =>
        `| ${nameOf(o.scenario)} | ${o.writes} | ${o.lost} | ${o.errors.length} | ${o.converged}/${CLIENTS} | ${o.upload.p50} / ${o.upload.p99} ms | ${o.propagation.p50} / ${o.propagation.p99} ms (${o.propagation.count}) | ${o.downloads} | ${o.pokes} (${o.pushed}) | loadavg ${o.loadavg[0].toFixed(1)}→${o.loadavg[1].toFixed(1)}${o.others === undefined ? '' : `, others ${o.others.toFixed(2)}/2 cores`} |`,
    ),
    '',
  ];
  writeFileSync(new URL('../results/realtime-load.md', import.meta.url), lines.join('\n'));
}
