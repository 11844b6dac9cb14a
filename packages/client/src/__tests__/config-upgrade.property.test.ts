import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AnySyncConfig,
  boolean,
  defineSyncConfig,
  type GroupName,
  integer,
  table,
  text,
} from '@carburetor/core';
import {
  type ChangeHub,
  createChangeHub,
  createPgKysely,
  createSyncRouter,
  migrateServer,
} from '@carburetor/server';
import { createTestDatabase, type TestDatabase } from '@carburetor/testing';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { deleteMemoryStore, memoryDriver } from '../node/index.ts';

// §6 of sync-semantics.md across an app update, as a property: three devices
// start on release 1 of the config; the server is deployed to release 2
// (more columns) while instances of both releases answer; devices 1 and 2
// may update the app at any point after the deploy began (with unsent
// writes), device 0 never does. Once the deploy is done and every device
// has synced: every replica holds the server's values of the columns its
// config knows, each column holds the write with the greatest stamp, and
// nothing was rejected or lost.

const RUNS = Number(process.env['CARBURETOR_UPGRADE_RUNS'] ?? 25);
const SEED = process.env['CARBURETOR_UPGRADE_SEED'];

const todoV1 = {
  owner_id: text().immutable(),
  title: text(),
  done: boolean().default(false),
};
const mine = { restrictTo: { column: 'owner_id', context: 'userId' } } as const;
const v1 = defineSyncConfig({
  tables: { todo: table(todoV1) },
  syncGroups: { mine: { todo: mine } },
});
const v2 = defineSyncConfig({
  tables: { todo: table({ ...todoV1, note: text().nullable(), priority: integer().default(3) }) },
  syncGroups: { mine: { todo: mine } },
});
const COLUMNS = {
  1: ['owner_id', 'title', 'done', 'is_deleted'],
  2: ['owner_id', 'title', 'done', 'is_deleted', 'note', 'priority'],
} as const;
const BOOLEANS = new Set(['done', 'is_deleted']);

let database: TestDatabase;
// biome-ignore lint/suspicious/noExplicitAny: raw SQL checks
let db: Kysely<any>;
let server: Server;
/** One change hub per release's router, closed before the database. */
const hubs: ChangeHub[] = [];
let url: string;
/** Which release answers: the old one, both in turn (a rolling deploy), or the new one. */
let deploy: 'before' | 'rolling' | 'done' = 'before';
let turn = 0;

beforeAll(async () => {
  database = await createTestDatabase('config-upgrade-property');
  db = createPgKysely<unknown>(database.url);
  await migrateServer(db, v1);
  await migrateServer(db, v2);
  const handlers = [v1, v2].map((config) =>
    createHTTPHandler({
      router: createSyncRouter(config, {
        db,
        changes: hubOf(config),
        context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
      }),
      createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
    }),
  );
  server = createServer((req, res) => {
    const release = deploy === 'before' ? 0 : deploy === 'done' ? 1 : turn++ % 2;
    handlers[release]!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

/** A change hub for a release's router (uploads announce through it). */
function hubOf(config: AnySyncConfig): ChangeHub {
  const hub = createChangeHub(config, { db, onError: () => undefined });
  hubs.push(hub);
  return hub;
}

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  for (const hub of hubs) await hub.close();
  await db?.destroy();
  await database?.drop();
});

/** The app's calls, whichever release of the config it runs. */
interface AppClient {
  insertTodo(row: Record<string, unknown>): Promise<{ id: string }>;
  updateTodo(id: string, changes: Record<string, unknown>): Promise<unknown>;
  deleteTodo(id: string): Promise<unknown>;
  sync(): Promise<void>;
  rejected(): Promise<unknown[]>;
  close(): Promise<void>;
  readonly status: { pendingCount: number };
}

interface Device {
  release: 1 | 2;
  client: AppClient;
  driver: ReturnType<typeof memoryDriver>;
  store: string;
}

async function open(config: AnySyncConfig, store: string, user: string, clientId: string) {
  const trpcClient = createTRPCClient<AnyRouter>({
    links: [
      httpLink({
        url,
        headers: { 'x-user': user },
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          const text = await response.clone().text();
          if (text.includes('"catchUp":true')) catchUps++;
          return response;
        },
      }),
    ],
  });
  const driver = memoryDriver({ name: store });
  const client = await createSyncClient(config, {
    driver,
    trpcClient,
    groups: ['mine'] as GroupName<typeof config>[],
    realtime: false,
    clientId,
  });
  return { client: client as unknown as AppClient, driver };
}

type Command =
  | { k: 'insert'; c: number; title: string; note: string | null; priority: number }
  | {
      k: 'update';
      c: number;
      r: number;
      title?: string;
      done?: boolean;
      note?: string | null;
      priority?: number;
    }
  | { k: 'delete'; c: number; r: number }
  | { k: 'sync'; c: number }
  | { k: 'deploy' }
  | { k: 'upgrade'; c: number };

const device = fc.integer({ min: 0, max: 2 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('insert' as const),
      c: device,
      title: fc.constantFrom('a', 'b'),
      note: fc.constantFrom(null, 'n'),
      priority: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        k: fc.constant('update' as const),
        c: device,
        r: fc.nat(12),
        title: fc.constantFrom('x', 'y', 'z'),
        done: fc.boolean(),
        note: fc.constantFrom(null, 'p', 'q'),
        priority: fc.integer({ min: 1, max: 5 }),
      },
      { requiredKeys: ['k', 'c', 'r'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('delete' as const), c: device, r: fc.nat(12) }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('sync' as const), c: device }) },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('upgrade' as const), c: fc.integer({ min: 1, max: 2 }) }),
  },
);

/** One accepted write of one column: its stamp and value. */
interface Write {
  t: number;
  c: string;
  value: unknown;
}

let run = 0;
/** Catch-up pages answered: the property must exercise them. */
let catchUps = 0;

async function localRow(d: Device, id: string) {
  const { rows } = await d.driver.execute('SELECT * FROM todos WHERE id = ?', [id]);
  return rows[0];
}

const normalize = (column: string, value: unknown) =>
  BOOLEANS.has(column) ? Boolean(value) : value;

async function execute(commands: Command[]) {
  const id = ++run;
  const user = `u${id}`;
  deploy = 'before';
  const devices: Device[] = [];
  for (let n = 0; n < 3; n++) {
    const store = `upgrade-${id}-${n}`;
    devices.push({ release: 1, store, ...(await open(v1, store, user, `d${n}-r${id}`)) });
  }
  const ids: string[] = [];
  const writes = new Map<string, Write[]>();
  const deletedIds = new Set<string>();
  /** Records the stamps the replica gave the columns a local write touched. */
  const record = async (d: Device, rowId: string, columns: readonly string[]) => {
    const row = await localRow(d, rowId);
    const meta = JSON.parse(String(row!['column_sync_metadata'])) as Record<
      string,
      { t: number; c: string }
    >;
    for (const column of columns) {
      const stamp = meta[column];
      if (!stamp) continue;
      const key = `${rowId}.${column}`;
      const list = writes.get(key) ?? [];
      list.push({ t: stamp.t, c: stamp.c, value: normalize(column, row![column]) });
      writes.set(key, list);
    }
  };
  try {
    for (const command of commands) {
      if (command.k === 'deploy') {
        deploy = deploy === 'before' ? 'rolling' : 'done';
        continue;
      }
      const d = devices[command.c]!;
      switch (command.k) {
        case 'insert': {
          const row: Record<string, unknown> = { owner_id: user, title: command.title };
          if (d.release === 2)
            Object.assign(row, { note: command.note, priority: command.priority });
          const { id: rowId } = await d.client.insertTodo(row);
          ids.push(rowId);
          await record(d, rowId, COLUMNS[d.release]);
          break;
        }
        case 'update':
        case 'delete': {
          const rowId = ids[command.r % Math.max(ids.length, 1)];
          if (rowId === undefined) break;
          const local = await localRow(d, rowId);
          if (!local || local['is_deleted']) break;
          if (command.k === 'delete') {
            await d.client.deleteTodo(rowId);
            deletedIds.add(rowId);
            await record(d, rowId, ['is_deleted']);
            break;
          }
          const changes: Record<string, unknown> = {};
          for (const column of COLUMNS[d.release]) {
            const value = (command as Record<string, unknown>)[column];
            if (value !== undefined) changes[column] = value;
          }
          if (Object.keys(changes).length === 0) break;
          await d.client.updateTodo(rowId, changes);
          await record(d, rowId, Object.keys(changes));
          break;
        }
        case 'sync':
          // A device of the new release meets an instance of the old one: told to retry.
          await d.client.sync().catch(() => undefined);
          break;
        case 'upgrade': {
          // An app update needs the server's deploy to have begun.
          if (d.release === 2 || deploy === 'before') break;
          await d.client.close();
          Object.assign(d, { release: 2 }, await open(v2, d.store, user, `d${command.c}-r${id}`));
          break;
        }
      }
    }
    deploy = 'done';
    for (let round = 0; round < 2; round++) {
      for (const d of devices) await d.client.sync();
    }

    const { rows } = await sql<Record<string, unknown>>`
      select * from todos where owner_id = ${user}`.execute(db);
    const onServer = new Map(rows.map((r) => [String(r['id']), r]));
    expect([...onServer.keys()].sort()).toEqual([...ids].sort());
    // Every column holds the write with the greatest stamp; one never written, its default.
    for (const [rowId, row] of onServer) {
      expect(row['is_deleted'], rowId).toBe(deletedIds.has(rowId));
      for (const column of ['title', 'done', 'note', 'priority']) {
        const list = writes.get(`${rowId}.${column}`) ?? [];
        const winner = list.reduce<Write | undefined>(
          (best, w) => (!best || w.t > best.t || (w.t === best.t && w.c > best.c) ? w : best),
          undefined,
        );
        const expected = winner
          ? winner.value
          : ({ done: false, note: null, priority: 3 } as Record<string, unknown>)[column];
        expect(row[column], `${rowId}.${column}`).toEqual(expected);
      }
    }
    for (const d of devices) {
      expect(await d.client.rejected()).toEqual([]);
      expect(d.client.status.pendingCount).toBe(0);
      const { rows: local } = await d.driver.execute('SELECT * FROM todos');
      const held = new Map(local.map((r) => [String(r['id']), r]));
      for (const [rowId, row] of onServer) {
        const mine = held.get(rowId);
        // A first download leaves deleted rows out.
        if (!mine) {
          expect(row['is_deleted'], `${d.store} lacks ${rowId}`).toBe(true);
          continue;
        }
        for (const column of COLUMNS[d.release]) {
          expect(normalize(column, mine[column]), `${d.store} ${rowId}.${column}`).toEqual(
            row[column],
          );
        }
      }
      for (const rowId of held.keys()) expect(onServer.has(rowId)).toBe(true);
    }
  } finally {
    for (const d of devices) {
      await d.client.close().catch(() => undefined);
      deleteMemoryStore(d.store);
    }
  }
}

test('replicas converge across an app update, whether they update or not', async () => {
  await fc.assert(
    // Before the deploy, while both releases answer, after it: devices may update in the last two.
    fc.asyncProperty(
      fc
        .tuple(...[0, 1, 2].map(() => fc.array(commandArb, { minLength: 2, maxLength: 14 })))
        .map(([before, rolling, after]) => [
          ...before!,
          { k: 'deploy' as const },
          ...rolling!,
          { k: 'deploy' as const },
          ...after!,
        ]),
      execute,
    ),
    {
      numRuns: RUNS,
      ...(SEED === undefined ? {} : { seed: Number(SEED) }),
    },
  );
  // The runs did update apps whose replicas held rows: the property exercised catch-ups.
  if (RUNS >= 20) expect(catchUps).toBeGreaterThan(0);
}, 600_000);
