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
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { CarburetorClientError } from '../errors.ts';
import { memoryDriver } from '../node/index.ts';

// An app's config through three releases: v2 adds columns (nullable, with a
// default) and a table to the group; "immutable" then makes a column
// immutable, which clients of v1 and v2 cannot follow.
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
const todoV2 = { ...todoV1, note: text().nullable(), priority: integer().default(3) };
const tag = table({ owner_id: text().immutable(), label: text() });
const v2 = defineSyncConfig({
  tables: { todo: table(todoV2), tag },
  syncGroups: { mine: { todo: mine, tag: mine } },
});
const v3 = defineSyncConfig({
  tables: { todo: table({ ...todoV2, title: text().immutable() }), tag },
  syncGroups: { mine: { todo: mine, tag: mine } },
});

let database: TestDatabase;
// biome-ignore lint/suspicious/noExplicitAny: raw SQL checks
let db: Kysely<any>;
let server: Server;
/** One change hub per release's router, closed before the database. */
const hubs: ChangeHub[] = [];
let url: string;
/**
 * Which release answers the next request: one address in front of the
 * instances of every release, as a load balancer during a rolling deploy.
 */
let serving: AnySyncConfig = v1;
const handlers = new Map<AnySyncConfig, ReturnType<typeof createHTTPHandler>>();

beforeAll(async () => {
  database = await createTestDatabase('config-upgrade');
  db = createPgKysely<unknown>(database.url);
  await migrateServer(db, v1);
  for (const config of [v1, v2, v3]) {
    const router = createSyncRouter(config, {
      db,
      changes: hubOf(config),
      context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
    });
    handlers.set(
      config,
      createHTTPHandler({
        router,
        createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
      }),
    );
  }
  server = createServer((req, res) => handlers.get(serving)!(req, res));
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

interface Page {
  reset?: boolean;
  catchUp?: true;
}

/** A client of `config` on the replica named `name` (reopened when it was opened before). */
async function open<C extends AnySyncConfig>(
  config: C,
  name: string,
  /** A build from before config identities: its requests carry none. */
  withoutIdentity = false,
) {
  const pages: Page[] = [];
  const trpcClient = createTRPCClient<AnyRouter>({
    links: [
      httpLink({
        url,
        headers: { 'x-user': 'u1' },
        fetch: async (input, init) => {
          if (withoutIdentity && typeof init?.body === 'string') {
            const { config: _, ...body } = JSON.parse(init.body) as Record<string, unknown>;
            init = { ...init, body: JSON.stringify(body) };
          }
          const response = await fetch(input, init);
          const body = (await response.clone().json()) as {
            result?: { data?: { tables?: Record<string, Page> } };
          };
          if (String(input).includes('.download')) {
            pages.push(...Object.values(body.result?.data?.tables ?? {}));
          }
          return response;
        },
      }),
    ],
  });
  const driver = memoryDriver({ name });
  const client = await createSyncClient(config, {
    driver,
    trpcClient,
    groups: ['mine'] as GroupName<C>[],
    realtime: false,
    clientId: name,
  });
  return { client, driver, pages };
}

/** The server's todos, by id. */
async function serverTodos(): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await sql<Record<string, unknown>>`select * from todos`.execute(db);
  return new Map(rows.map((r) => [String(r['id']), r]));
}

/** Each replica row's values of `columns`, by id, as the server has them. */
async function replicaTodos(
  driver: ReturnType<typeof memoryDriver>,
): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await driver.execute('SELECT * FROM todos');
  return new Map(rows.map((r) => [String(r['id']), r]));
}

/** Every replica holds the server's values of the columns its config knows. */
async function expectConverged(
  clients: { driver: ReturnType<typeof memoryDriver>; columns: readonly string[] }[],
) {
  const onServer = await serverTodos();
  for (const { driver, columns } of clients) {
    const local = await replicaTodos(driver);
    expect([...local.keys()].sort()).toEqual([...onServer.keys()].sort());
    for (const [id, row] of local) {
      const server = onServer.get(id)!;
      for (const column of columns) {
        const value =
          column === 'done' || column === 'is_deleted' ? Boolean(row[column]) : row[column];
        expect(value, `${id}.${column}`).toEqual(server[column]);
      }
    }
  }
}

async function failure(work: Promise<unknown>): Promise<CarburetorClientError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CarburetorClientError);
  return error as CarburetorClientError;
}

describe('clients of three config releases, across a rolling deploy', () => {
  it('old clients keep syncing, updated ones catch up with their offline writes, new ones wait for the new servers', async () => {
    // v1 everywhere.
    const a1 = await open(v1, 'a');
    const b = await open(v1, 'b');
    const one = await a1.client.insertTodo({ owner_id: 'u1', title: 'one' });
    await a1.client.sync();
    await b.client.sync();
    expect((await b.client.activeTodos().execute()).map((r) => r.title)).toEqual(['one']);

    // A goes offline and writes.
    await a1.client.updateTodo(one.id, { title: 'one, offline at a' });
    const two = await a1.client.insertTodo({ owner_id: 'u1', title: 'two' });

    // The deploy: v2's migration runs; instances of both releases answer.
    await migrateServer(db, v2);
    const c = await open(v2, 'c');
    const three = await c.client.insertTodo({
      owner_id: 'u1',
      title: 'three',
      note: 'from c',
      priority: 9,
    });
    serving = v1;
    const behind = await failure(c.client.sync());
    expect(behind.code).toBe('sync_failed');
    expect(behind.message).toMatch(/older config than the app's.*retry/);
    expect(c.client.status.lastError?.code).toBe('sync_failed');
    expect(c.client.status.pendingCount).toBe(1);
    expect((await serverTodos()).has(three.id)).toBe(false);
    serving = v2;
    await c.client.sync();
    expect(c.client.status.pendingCount).toBe(0);
    expect((await serverTodos()).get(three.id)).toMatchObject({ note: 'from c', priority: 9 });
    await c.client.updateTodo(one.id, { note: 'c on one' });
    await c.client.sync();

    // B stays on v1, against both releases: its writes never touch what it does not know.
    await b.client.updateTodo(one.id, { title: 'one, by b' });
    await b.client.sync();
    serving = v1;
    await b.client.sync();
    serving = v2;
    expect((await serverTodos()).get(one.id)).toMatchObject({
      title: 'one, by b',
      note: 'c on one',
    });
    const { rows: bColumns } = await b.driver.execute('PRAGMA table_info(todos)');
    expect(bColumns.map((r) => r['name'])).not.toContain('note');
    // Not even the stamps of what it does not know (the upload's answer carried them).
    const bOne = (await replicaTodos(b.driver)).get(one.id)!;
    expect(Object.keys(JSON.parse(String(bOne['column_sync_metadata']))).sort()).toEqual([
      'done',
      'is_deleted',
      'owner_id',
      'title',
    ]);

    // A comes online, still on v1, against the new release: its offline writes go up (B's
    // later title wins), and it gets C's row without the columns it does not know.
    await a1.client.sync();
    expect(a1.client.status.pendingCount).toBe(0);
    expect((await replicaTodos(a1.driver)).get(three.id)).not.toHaveProperty('note');
    // Offline again, then the app updates before it syncs: its unsent writes survive.
    await a1.client.updateTodo(two.id, { title: 'two, offline' });
    const four = await a1.client.insertTodo({ owner_id: 'u1', title: 'four' });
    await a1.client.close();
    const a = await open(v2, 'a');
    expect(a.client.status.pendingCount).toBe(2);
    await a.client.updateTodo(two.id, { note: 'a on two' });
    await a.client.sync();
    // A targeted catch-up of the new columns, never a first download: rows unchanged since
    // A's last download get their new columns' values.
    expect(a.pages.some((p) => p.catchUp)).toBe(true);
    expect(a.pages.some((p) => p.reset)).toBe(false);
    const aRows = await replicaTodos(a.driver);
    expect(aRows.get(one.id)).toMatchObject({ title: 'one, by b', note: 'c on one', priority: 3 });
    expect(aRows.get(three.id)).toMatchObject({ note: 'from c', priority: 9 });
    const onServer = await serverTodos();
    expect(onServer.get(two.id)).toMatchObject({
      title: 'two, offline',
      note: 'a on two',
      priority: 3,
    });
    expect(onServer.get(four.id)).toMatchObject({ title: 'four', note: null, priority: 3 });

    // Everyone converges, each on the columns it knows.
    for (const client of [a, b, c, a]) await client.client.sync();
    const v1Columns = ['owner_id', 'title', 'done', 'is_deleted'];
    const v2Columns = [...v1Columns, 'note', 'priority'];
    await expectConverged([
      { driver: a.driver, columns: v2Columns },
      { driver: b.driver, columns: v1Columns },
      { driver: c.driver, columns: v2Columns },
    ]);

    // An incompatible release: v1 and v2 clients are told to update; nothing they send is written.
    await migrateServer(db, v3);
    serving = v3;
    await b.client.updateTodo(one.id, { title: 'one, b again' });
    for (const old of [b, a]) {
      const refused = await failure(old.client.sync());
      expect(refused.code).toBe('update_required');
      expect(refused.message).toMatch(/column "todo\.title" was made immutable.*Update the app/);
      expect(old.client.status.lastError?.code).toBe('update_required');
    }
    expect(b.client.status.pendingCount).toBe(1);
    expect((await serverTodos()).get(one.id)).toMatchObject({ title: 'one, by b' });
    const d = await open(v3, 'd');
    await d.client.sync();
    expect((await d.client.activeTodos().execute()).length).toBe(4);

    for (const client of [a, b, c, d]) await client.client.close();
  });

  // Every client release against every server release, each with a write made offline first.
  // By now the database has recorded 1, 2 and 3; clients without an identity are release 1's.
  type Outcome = 'synced' | 'retry' | 'update_required';
  const releases = { v1, v2, v3 } as const;
  const matrix: [client: 'none' | keyof typeof releases, server: keyof typeof releases, Outcome][] =
    [
      ['none', 'v1', 'synced'],
      ['none', 'v2', 'synced'],
      ['none', 'v3', 'update_required'],
      ['v1', 'v1', 'synced'],
      ['v1', 'v2', 'synced'],
      ['v1', 'v3', 'update_required'],
      ['v2', 'v1', 'retry'],
      ['v2', 'v2', 'synced'],
      ['v2', 'v3', 'update_required'],
      ['v3', 'v1', 'retry'],
      // Release 3 only made a column immutable: a server of 2 takes all a client of 3 sends.
      ['v3', 'v2', 'synced'],
      ['v3', 'v3', 'synced'],
    ];
  it.each(matrix)('a client of %s against a server of %s: %s', async (release, at, outcome) => {
    const name = `m-${release}-${at}`;
    const { client, driver } = await open(
      release === 'none' ? v1 : releases[release],
      name,
      release === 'none',
    );
    try {
      const { id } = await client.insertTodo({ owner_id: 'u1', title: name });
      serving = releases[at];
      const failed = await client.sync().then(
        () => undefined,
        (e: unknown) => e as CarburetorClientError,
      );
      serving = v2;
      const onServer = (await serverTodos()).get(id);
      if (outcome === 'synced') {
        expect(failed).toBeUndefined();
        expect(onServer).toMatchObject({ title: name });
        expect(client.status.pendingCount).toBe(0);
        // The replica holds exactly the columns its config knows.
        const { rows } = await driver.execute('PRAGMA table_info(todos)');
        expect(rows.some((r) => r['name'] === 'note')).toBe(release === 'v2' || release === 'v3');
        return;
      }
      expect(failed?.code).toBe(outcome === 'retry' ? 'sync_failed' : 'update_required');
      expect(client.status.lastError?.code).toBe(failed?.code);
      expect(onServer).toBeUndefined();
      expect(client.status.pendingCount).toBe(1);
    } finally {
      await client.close();
    }
  });
});
