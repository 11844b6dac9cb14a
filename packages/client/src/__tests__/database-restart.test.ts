import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPgKysely, migrateServer } from '@carburetor/server';
import { type PostgresServer, startPostgresServer } from '@carburetor/testing/postgres-server';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { EventSource } from 'eventsource';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import type { SyncClient } from '../client/types.ts';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
import { phoneBookConfig } from './fixtures.ts';

// The issue-14 scenario: PostgreSQL restarts (fast and immediate shutdown) and the server's
// backends are terminated, with uploads, downloads and `changes` subscriptions in flight. The
// server runs in a child process (what must survive is a process), clients talk to it over real
// HTTP (SSE for realtime), and the database is a private embedded PostgreSQL this file stops and
// starts: the run's shared server (or DATABASE_URL's) must not be stopped under the other test
// files, so even with DATABASE_URL set this file starts its own.

const USERS = ['ada', 'bob'] as const;
const DEVICES_PER_USER = 2;
const WRITE_EVERY_MS = 25;
/** Load before each disruption, and how long PostgreSQL stays down. */
const LOAD_MS = 1_200;
const DOWN_MS = 1_000;

type Client = SyncClient<typeof phoneBookConfig, 'private_contacts'>;

interface Device {
  readonly user: string;
  readonly name: string;
  readonly client: Client;
  readonly driver: MemoryDriver;
  /** id → the last version written (phone_number holds it); only this device writes its rows. */
  readonly written: Map<string, number>;
  /** id → the highest version the replica held clean (uploaded and acknowledged). */
  readonly acknowledged: Map<string, number>;
}

let postgres: PostgresServer;
let databaseUrl: string;
// biome-ignore lint/suspicious/noExplicitAny: raw SQL checks
let db: Kysely<any>;
let child: ChildProcess;
let childOutput = '';
let serverUrl: string;
const devices: Device[] = [];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The child server: started once, its stdout and stderr kept for the assertions. */
async function startChildServer(url: string): Promise<{ child: ChildProcess; url: string }> {
  // tsx (a devDependency) runs the TypeScript child.
  const tsx = createRequire(import.meta.url).resolve('tsx/esm');
  const started = spawn(
    process.execPath,
    [
      '--conditions=@carburetor/source',
      '--import',
      pathToFileURL(tsx).href,
      fileURLToPath(new URL('./database-restart-server.ts', import.meta.url)),
      url,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`child never listened:\n${childOutput}`)),
      30_000,
    );
    started.stdout.on('data', (chunk: Buffer) => {
      childOutput += chunk.toString();
      const match = /listening (\d+)/.exec(childOutput);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    started.stderr.on('data', (chunk: Buffer) => {
      childOutput += chunk.toString();
    });
    started.on('exit', (code) => reject(new Error(`child exited (${code}):\n${childOutput}`)));
  });
  return { child: started, url: `http://127.0.0.1:${port}` };
}

/** The server process still runs and answers HTTP (with PostgreSQL down, an error answer). */
async function expectChildAnswering(): Promise<void> {
  expect(child.exitCode, childOutput).toBeNull();
  expect(child.signalCode, childOutput).toBeNull();
  const response = await fetch(`${serverUrl}/private_contacts.download`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user': 'ada' },
    body: '{}',
  });
  expect(response.status).toBeGreaterThan(0);
}

async function device(user: string, index: number): Promise<Device> {
  const trpcClient = createTRPCClient<AnyRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: serverUrl,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init.headers, 'x-user': user } }),
          },
        }),
        false: httpLink({ url: serverUrl, headers: { 'x-user': user } }),
      }),
    ],
  });
  const driver = memoryDriver();
  const client = await createSyncClient(phoneBookConfig, {
    driver,
    trpcClient,
    groups: ['private_contacts'],
    // Short reconnect waits (defaults 1 s up to 30 s) keep the test short; the behaviour is the same.
    realtime: { backoff: { baseMs: 50, maxMs: 500 } },
    requestTimeoutMs: 10_000,
  });
  return {
    user,
    name: `${user}-${index}`,
    client,
    driver,
    written: new Map(),
    acknowledged: new Map(),
  };
}

/** Writes a new version of one of the device's rows (or a new row), locally. */
async function write(d: Device): Promise<void> {
  const ids = [...d.written.keys()];
  if (ids.length < 8 || Math.random() < 0.2) {
    const version = 1;
    const row = await d.client.insertPhoneBook({
      owner_id: d.user,
      name: `${d.name} #${ids.length}`,
      phone_number: String(version),
    });
    d.written.set(row.id, version);
    return;
  }
  const id = ids[Math.floor(Math.random() * ids.length)]!;
  const version = (d.written.get(id) ?? 0) + 1;
  d.written.set(id, version);
  await d.client.updatePhoneBook(id, { phone_number: String(version) });
}

/**
 * Notes what the replica holds clean: a row's dirty marks are cleared only
 * when the server acknowledged its upload, so a clean row of this device
 * with version v means v is acknowledged.
 */
async function noteAcknowledged(d: Device): Promise<number> {
  const { rows } = await d.driver.execute(
    'SELECT id, phone_number, sync_metadata FROM phone_books',
  );
  let noted = 0;
  for (const row of rows) {
    const id = String(row['id']);
    if (!d.written.has(id)) continue;
    const meta = JSON.parse(String(row['sync_metadata'])) as Record<string, { d?: 1 }>;
    if (Object.values(meta).some((column) => column.d === 1)) continue;
    const version = Number(row['phone_number']);
    if (version > (d.acknowledged.get(id) ?? 0)) {
      d.acknowledged.set(id, version);
      noted++;
    }
  }
  return noted;
}

/** Acknowledgements seen while the load ran (a row's version went up clean). */
let acknowledgedUnderLoad = 0;

/** Writes on every device and notes acknowledgements, until `stop` says so. */
function load(): { stop: () => Promise<{ writes: number; errors: number }> } {
  let running = true;
  let writes = 0;
  let errors = 0;
  const loops = devices.map(async (d) => {
    while (running) {
      try {
        await write(d);
        writes++;
        acknowledgedUnderLoad += await noteAcknowledged(d);
      } catch {
        errors++;
      }
      // Sometimes an explicit sync besides the background loop's own; failing ones are fine.
      if (Math.random() < 0.1) void d.client.sync().catch(() => undefined);
      await sleep(WRITE_EVERY_MS);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { writes, errors };
    },
  };
}

/** Terminates every session of the test database but this one: the server's pool and LISTEN. */
async function terminateBackends(): Promise<number> {
  const { rows } = await sql`
    select pg_terminate_backend(pid) from pg_stat_activity
     where datname = current_database() and pid <> pg_backend_pid()`.execute(db);
  return rows.length;
}

/** Sessions the child server holds, by application_name (the LISTEN one is 'carburetor-listen'). */
async function serverSessions(): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select application_name as name from pg_stat_activity
     where datname = current_database() and pid <> pg_backend_pid()`.execute(db);
  return rows.map((r) => r.name);
}

beforeAll(async () => {
  postgres = await startPostgresServer({ durableCommits: true });
  const admin = createPgKysely(postgres.url);
  await sql`create database restart`.execute(admin);
  await admin.destroy();
  const url = new URL(postgres.url);
  url.pathname = '/restart';
  databaseUrl = url.toString();
  // The test's own handle for checks; its idle connections break at each restart too, quietly.
  db = createPgKysely(databaseUrl, { onError: () => undefined });
  await migrateServer(db, phoneBookConfig);
  ({ child, url: serverUrl } = await startChildServer(databaseUrl));
  for (const user of USERS) {
    for (let i = 0; i < DEVICES_PER_USER; i++) devices.push(await device(user, i));
  }
}, 60_000);

afterAll(async () => {
  for (const d of devices) {
    await d.client.close().catch(() => undefined);
    await d.driver.close().catch(() => undefined);
  }
  child?.kill();
  await db?.destroy().catch(() => undefined);
  await postgres?.stop();
});

describe('the server outlives its database', () => {
  test('restarts and terminated backends under load: the server lives, clients converge, no acknowledged write is lost', async () => {
    const began = performance.now();
    // No polling to speak of: downloads come from pokes, the devices' own syncs after writes,
    // and retries after failures (backoff shortened from 1 s up to 60 s to keep the test short).
    for (const d of devices) {
      d.client.start({ intervalMs: 3_600_000, backoff: { baseMs: 100, maxMs: 1_000 } });
    }
    // Everyone live (subscribed), and the LISTEN connection open, before the first disruption.
    await expect
      .poll(() => devices.every((d) => d.client.status.live), { timeout: 15_000 })
      .toBe(true);
    await expect.poll(serverSessions, { timeout: 10_000 }).toContain('carburetor-listen');

    const disruptions = [
      { name: 'fast shutdown', run: () => postgres.shutdown('fast'), restart: true, busy: true },
      {
        name: 'immediate shutdown',
        run: () => postgres.shutdown('immediate'),
        restart: true,
        busy: true,
      },
      { name: 'pg_terminate_backend', run: terminateBackends, restart: false, busy: true },
      // Idle: only the subscriptions and the pool's idle connections are there to break.
      {
        name: 'immediate shutdown, idle',
        run: () => postgres.shutdown('immediate'),
        restart: true,
        busy: false,
      },
    ];
    const resumed: Record<string, number> = {};
    let writes = 0;
    let failedWrites = 0;
    for (const disruption of disruptions) {
      const traffic = disruption.busy ? load() : { stop: async () => ({ writes: 0, errors: 0 }) };
      await sleep(LOAD_MS);
      await disruption.run();
      if (disruption.restart) {
        await sleep(DOWN_MS / 2);
        await expectChildAnswering(); // answers while PostgreSQL is away
        await sleep(DOWN_MS / 2);
        await postgres.start();
      }
      const back = performance.now();
      // Service resumes by itself, load or not: an upload-and-download of every device succeeds again...
      await expect
        .poll(
          async () => {
            const results = await Promise.allSettled(devices.map((d) => d.client.sync()));
            return results.every((r) => r.status === 'fulfilled');
          },
          { timeout: 20_000, interval: 50 },
        )
        .toBe(true);
      resumed[disruption.name] = Math.round(performance.now() - back);
      await sleep(LOAD_MS / 2);
      const done = await traffic.stop();
      writes += done.writes;
      failedWrites += done.errors;
      await expectChildAnswering();
      // ...and so does the LISTEN connection.
      await expect.poll(serverSessions, { timeout: 10_000 }).toContain('carburetor-listen');
    }

    // Realtime came back too: a plain SQL write reaches every device of its owner by a poke
    // alone (the loop polls once an hour), over the subscriptions opened before the restarts.
    await sql`insert into phone_books (id, owner_id, name, phone_number)
      values ('sql-fix-ada', 'ada', 'written by plain SQL', '0')`.execute(db);
    for (const d of devices.filter((x) => x.user === 'ada')) {
      await expect
        .poll(
          async () =>
            (await d.driver.execute("SELECT id FROM phone_books WHERE id = 'sql-fix-ada'")).rows
              .length,
          { timeout: 10_000 },
        )
        .toBe(1);
    }

    // Converged: every replica holds exactly its user's rows as the server has them, nothing
    // dirty, and every acknowledged version (or a later one) is on the server.
    for (const d of devices) {
      await d.client.stop();
      await d.client.sync();
      await noteAcknowledged(d);
    }
    let acknowledged = 0;
    for (const d of devices) {
      const { rows: server } = await sql<{ id: string; name: string; phone_number: string }>`
        select id, name, phone_number from phone_books
         where owner_id = ${d.user} and not record_deleted`.execute(db);
      const { rows: replica } = await d.driver.execute(
        'SELECT id, name, phone_number FROM phone_books WHERE NOT record_deleted',
      );
      const local = replica.map((r) => ({
        id: r['id'],
        name: r['name'],
        phone_number: r['phone_number'],
      }));
      // Sorted here: PostgreSQL's collation and SQLite's order text differently.
      const byId = (a: { id: unknown }, b: { id: unknown }) =>
        String(a.id) < String(b.id) ? -1 : 1;
      expect(local.sort(byId), d.name).toEqual([...server].sort(byId));
      expect(d.client.status.pendingCount, d.name).toBe(0);
      const onServer = new Map(server.map((r) => [r.id, Number(r.phone_number)]));
      for (const [id, version] of d.acknowledged) {
        expect(onServer.get(id) ?? -1, `${d.name} ${id}`).toBeGreaterThanOrEqual(version);
        acknowledged++;
      }
      // Nothing is left unacknowledged: the last version of every row is on the server.
      for (const [id, version] of d.written)
        expect(onServer.get(id), `${d.name} ${id}`).toBe(version);
    }

    await expectChildAnswering();
    // Swallowed errors were still reported (the default warnings), and none went unhandled.
    expect(childOutput).toContain('Carburetor: a PostgreSQL connection broke');
    expect(childOutput).not.toMatch(/Unhandled|uncaught/i);
    console.info(
      `database restart: ${disruptions.length} disruptions, ${writes} local writes (${failedWrites} failed), ` +
        `${devices.reduce((n, d) => n + d.written.size, 0)} rows, ${acknowledgedUnderLoad} acknowledged versions ` +
        `seen under load, ${acknowledged} rows checked; every device synced again after ${JSON.stringify(resumed)} ms; ${Math.round(performance.now() - began)} ms in all`,
    );
  }, 120_000);
});
