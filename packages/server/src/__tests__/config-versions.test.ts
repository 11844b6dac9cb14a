import type { AddressInfo } from 'node:net';
import {
  type AnySyncConfig,
  boolean,
  configIdentity,
  type DownloadResponse,
  type DownloadTablePage,
  defineSyncConfig,
  integer,
  type JsonValue,
  PROTOCOL_VERSION,
  table,
  text,
  type UploadResponse,
  type UploadRow,
  writeTimeFromMs,
} from '@carburetor/core';
import { createTestDatabase, type TestDatabase } from '@carburetor/testing';
import { createTRPCUntypedClient, httpLink, TRPCClientError } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, legacyCursorFingerprint } from '../download/cursor.ts';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { createSyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';

// Version 1 of an app's config; version 2 adds columns (nullable, defaulted)
// and a table to the group; the "immutable" version makes a column immutable
// (incompatible: version 1 clients would change it).
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
  tables: {
    todo: table({ ...todoV1, note: text().nullable(), priority: integer().default(3) }),
    tag: table({ owner_id: text().immutable(), label: text() }),
  },
  syncGroups: { mine: { todo: mine, tag: mine } },
});
const immutableTitle = defineSyncConfig({
  tables: { todo: table({ ...todoV1, title: text().immutable() }) },
  syncGroups: { mine: { todo: mine } },
});
const V1 = configIdentity(v1);
const V2 = configIdentity(v2);

interface Instance {
  url: string;
  close(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: any database schema
function serve(db: Kysely<any>, config: AnySyncConfig): Promise<Instance> {
  const router = createSyncRouter(config, { db, context: () => ({ userId: 'u1' }) });
  const server = createHTTPServer({ router, createContext: () => ({}) });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((done) => server.close(() => done(undefined))),
      }),
    ),
  );
}

const call = (instance: Instance, path: string, input: unknown) =>
  createTRPCUntypedClient({ links: [httpLink({ url: instance.url })] }).mutation(path, input);

/** One download request of table `todo` (and optionally `tag`) from a client of `config`. */
async function download(
  instance: Instance,
  config: string | undefined,
  cursor: string | null = null,
  tables: string[] = ['todo'],
  pageSize?: number,
): Promise<DownloadResponse> {
  return (await call(instance, 'mine.download', {
    protocol: PROTOCOL_VERSION,
    clientId: 'dl',
    ...(config === undefined ? {} : { config }),
    ...(pageSize === undefined ? {} : { pageSize }),
    tables: Object.fromEntries(tables.map((t) => [t, { cursor, hasRows: cursor !== null }])),
  })) as DownloadResponse;
}

/** Every page of `todo` until caught up: the pages, and the last cursor. */
async function downloadAll(
  instance: Instance,
  config: string | undefined,
  cursor: string | null,
  pageSize?: number,
) {
  const pages: DownloadTablePage[] = [];
  let at = cursor;
  for (;;) {
    const page = (await download(instance, config, at, ['todo'], pageSize)).tables['todo']!;
    pages.push(page);
    at = page.cursor;
    if (!page.hasMore) return { pages, cursor: at };
  }
}

let clock = Date.now();
const col = (value: JsonValue) => ({ value, t: writeTimeFromMs(++clock) });

async function upload(
  instance: Instance,
  config: string | undefined,
  clientId: string,
  tables: Record<string, UploadRow[]>,
): Promise<UploadResponse> {
  return (await call(instance, 'mine.upload', {
    protocol: PROTOCOL_VERSION,
    clientId,
    ...(config === undefined ? {} : { config }),
    tables,
  })) as UploadResponse;
}

async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const e = error as TRPCClientError<never>;
  return { code: String((e.data as { code?: string } | undefined)?.code), message: e.message };
}

/** The row's values of a page, by column name. */
function valuesOf(page: DownloadTablePage, id: string): Record<string, unknown> | undefined {
  const row = page.rows.find((r) => r[0] === id);
  if (!row) return undefined;
  return Object.fromEntries(page.columns.map((c, n) => [c, row[2 + n]]));
}

let database: TestDatabase;
// biome-ignore lint/suspicious/noExplicitAny: any database schema
let db: Kysely<any>;
let oldServer: Instance;
let newServer: Instance;

beforeAll(async () => {
  database = await createTestDatabase('config-versions');
  db = createPgKysely<unknown>(database.url);
  await migrateServer(db, v1);
  // The rolling deploy: the new version's migration ran, an old instance still serves.
  await migrateServer(db, v2);
  oldServer = await serve(db, v1);
  newServer = await serve(db, v2);
});

afterAll(async () => {
  await oldServer?.close();
  await newServer?.close();
  await db?.destroy();
  await database?.drop();
});

const todoRow = async (id: string) =>
  (await sql<Record<string, unknown>>`select * from todos where id = ${id}`.execute(db)).rows[0];

describe('config versions', () => {
  it('migrateServer records each version once; the first stands for clients without an identity', async () => {
    await migrateServer(db, v2);
    const { rows } = await sql<{ identity: string; before_versioning: boolean }>`
      select identity, before_versioning from _carburetor_config_versions order by recorded_at`.execute(
      db,
    );
    expect(rows).toEqual([
      { identity: V1, before_versioning: true },
      { identity: V2, before_versioning: false },
    ]);
  });

  it("another app's config on the same database has its own version from before versioning", async () => {
    const memos = defineSyncConfig({
      tables: { memo: table({ owner_id: text().immutable(), body: text() }) },
      syncGroups: { mine: { memo: mine } },
    });
    await migrateServer(db, memos);
    const { rows } = await sql<{ before_versioning: boolean }>`
      select before_versioning from _carburetor_config_versions
      where identity = ${configIdentity(memos)}`.execute(db);
    expect(rows).toEqual([{ before_versioning: true }]);
    const app = await serve(db, memos);
    try {
      const page = await call(app, 'mine.download', {
        protocol: PROTOCOL_VERSION,
        clientId: 'memo-1',
        tables: { memo: { cursor: null, hasRows: false } },
      });
      expect((page as DownloadResponse).tables['memo']!.reset).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('an old client gets only the columns it knows; its writes keep the new columns and their stamps', async () => {
    await upload(newServer, V2, 'new-1', {
      todo: [
        {
          op: 'insert',
          id: 't1',
          columns: { owner_id: col('u1'), title: col('first'), note: col('n'), priority: col(5) },
        },
      ],
    });
    const before = await todoRow('t1');
    for (const identity of [V1, undefined]) {
      const page = (await download(newServer, identity)).tables['todo']!;
      expect([...page.columns].sort()).toEqual(['done', 'is_deleted', 'owner_id', 'title']);
      expect(valuesOf(page, 't1')).toEqual({
        owner_id: 'u1',
        title: 'first',
        done: false,
        is_deleted: false,
      });
    }

    // An insert gets the defaults of what the old client does not know; an update leaves it alone.
    const inserted = await upload(newServer, V1, 'old-1', {
      todo: [{ op: 'insert', id: 't2', columns: { owner_id: col('u1'), title: col('second') } }],
    });
    expect(inserted.tables['todo']!.results[0]).toMatchObject({ ok: true });
    expect(await todoRow('t2')).toMatchObject({ note: null, priority: 3, done: false });
    await upload(newServer, V1, 'old-1', {
      todo: [{ op: 'update', id: 't1', columns: { title: col('renamed') } }],
    });
    const after = await todoRow('t1');
    expect(after).toMatchObject({ title: 'renamed', note: 'n', priority: 5 });
    const stamps = (row: Record<string, unknown> | undefined) =>
      row?.['column_sync_metadata'] as Record<string, unknown>;
    expect(stamps(after)['note']).toEqual(stamps(before)['note']);
    expect(stamps(after)['priority']).toEqual(stamps(before)['priority']);
  });

  it('a client updated to the new config catches up on the new columns, without a first download', async () => {
    const old = await downloadAll(newServer, V1, null);
    expect(old.pages.every((p) => !p.reset)).toBe(true);
    await upload(newServer, V2, 'new-1', {
      todo: [{ op: 'update', id: 't2', columns: { note: col('written meanwhile') } }],
    });

    const updated = await downloadAll(newServer, V2, old.cursor);
    const [catchUp, ...rest] = updated.pages;
    expect(catchUp).toMatchObject({ catchUp: true, reset: false, hasMore: true });
    expect([...catchUp!.columns].sort()).toEqual(['note', 'priority']);
    expect(valuesOf(catchUp!, 't1')).toEqual({ note: 'n', priority: 5 });
    expect(valuesOf(catchUp!, 't2')).toEqual({ note: 'written meanwhile', priority: 3 });
    expect(rest.length).toBeGreaterThan(0);
    for (const page of rest) {
      expect(page.reset).toBe(false);
      expect(page.catchUp).toBeUndefined();
      expect([...page.columns].sort()).toEqual([
        'done',
        'is_deleted',
        'note',
        'owner_id',
        'priority',
        'title',
      ]);
    }
    // Caught up: the next download starts from the cursor, nothing to catch up on.
    const next = (await download(newServer, V2, updated.cursor)).tables['todo']!;
    expect(next.catchUp).toBeUndefined();
    expect(next.reset).toBe(false);
  });

  it('a catch-up goes page by page, then the usual pass goes on from the old cursor', async () => {
    const old = await downloadAll(newServer, V1, null);
    const updated = await downloadAll(newServer, V2, old.cursor, 1);
    const catchUps = updated.pages.filter((p) => p.catchUp);
    const rows = (await sql<{ n: string }>`select count(*) as n from todos`.execute(db)).rows[0]!;
    // One row a page (the page of the last row ends the catch-up).
    expect(catchUps.length).toBe(Number(rows.n));
    expect(catchUps.every((p) => p.rows.length <= 1 && p.hasMore && !p.reset)).toBe(true);
    expect(new Set(catchUps.flatMap((p) => p.rows.map((r) => r[0]))).size).toBe(Number(rows.n));
    const rest = updated.pages.slice(catchUps.length);
    expect(rest.every((p) => !p.catchUp && !p.reset)).toBe(true);
    expect(updated.pages.findIndex((p) => !p.catchUp)).toBe(catchUps.length);
  });

  it('a cursor naming a config the server never recorded is answered as a first download', async () => {
    const made = decodeCursor((await downloadAll(newServer, V2, null)).cursor, 'todo');
    const forged = encodeCursor({ ...made, config: 'ffffffffffffffff' });
    const page = (await download(newServer, V2, forged)).tables['todo']!;
    expect(page.reset).toBe(true);
    expect(page.catchUp).toBeUndefined();
  });

  it('a cursor made before configs had identities is accepted as the columns it was made with', async () => {
    const made = decodeCursor((await downloadAll(newServer, V1, null)).cursor, 'todo');
    const group = v1.groups.mine;
    const legacy = encodeCursor({
      fingerprint: legacyCursorFingerprint(group, group.table['todo']!, { userId: 'u1' }, [
        ...v1.tables.todo.syncedColumns,
      ]),
      floor: made.floor,
      ...(made.history === undefined ? {} : { history: made.history }),
    });
    for (const identity of [undefined, V1]) {
      const page = (await download(newServer, identity, legacy)).tables['todo']!;
      expect(page.reset).toBe(false);
      expect(page.catchUp).toBeUndefined();
    }
    const updated = (await download(newServer, V2, legacy)).tables['todo']!;
    expect(updated).toMatchObject({ reset: false, catchUp: true });
  });

  it('a new client against an instance of the older config is told to retry; nothing is written', async () => {
    const rows = [
      {
        op: 'insert' as const,
        id: 't-new',
        columns: { owner_id: col('u1'), title: col('x'), note: col('y') },
      },
    ];
    for (const work of [
      upload(oldServer, V2, 'new-2', { todo: rows }),
      upload(oldServer, V2, 'new-2', {
        tag: [{ op: 'insert', id: 'g1', columns: { owner_id: col('u1'), label: col('a') } }],
      }),
      download(oldServer, V2, null, ['todo', 'tag']),
    ]) {
      const { code, message } = await refusal(work);
      expect(code).toBe('SERVICE_UNAVAILABLE');
      expect(message).toMatch(/older config than the app's.*column "todo\.note" was added.*retry/);
    }
    expect(await todoRow('t-new')).toBeUndefined();
    // Once the new instance answers, the same request goes through.
    const answer = await upload(newServer, V2, 'new-2', { todo: rows });
    expect(answer.tables['todo']!.results[0]).toMatchObject({ ok: true });
    expect(await todoRow('t-new')).toMatchObject({ note: 'y' });
  });

  it('the old instance serves old clients and clients without an identity as before', async () => {
    for (const identity of [V1, undefined]) {
      const page = (await download(oldServer, identity)).tables['todo']!;
      expect([...page.columns].sort()).toEqual(['done', 'is_deleted', 'owner_id', 'title']);
    }
  });

  it('a malformed identity is a BAD_REQUEST naming it; an unknown one a retry; nothing is written', async () => {
    const row = {
      op: 'insert' as const,
      id: 't-bad',
      columns: { owner_id: col('u1'), title: col('x') },
    };
    const malformed = await refusal(upload(newServer, 'not-an-identity', 'c-1', { todo: [row] }));
    expect(malformed.code).toBe('BAD_REQUEST');
    expect(malformed.message).toMatch(/config: a config identity is 16 lowercase hex digits/);
    const unknown = await refusal(upload(newServer, 'ffffffffffffffff', 'c-1', { todo: [row] }));
    expect(unknown.code).toBe('SERVICE_UNAVAILABLE');
    expect(unknown.message).toMatch(/does not serve config ffffffffffffffff/);
    const unknownDownload = await refusal(download(newServer, 'ffffffffffffffff'));
    expect(unknownDownload.code).toBe('SERVICE_UNAVAILABLE');
    expect(await todoRow('t-bad')).toBeUndefined();
  });
});

describe('an incompatible change', () => {
  let other: TestDatabase;
  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  let otherDb: Kysely<any>;
  let server: Instance;

  beforeAll(async () => {
    other = await createTestDatabase('config-versions-incompatible');
    otherDb = createPgKysely<unknown>(other.url);
    await migrateServer(otherDb, v1);
    await migrateServer(otherDb, immutableTitle);
    server = await serve(otherDb, immutableTitle);
  });

  afterAll(async () => {
    await server?.close();
    await otherDb?.destroy();
    await other?.drop();
  });

  it('answers update_required naming what changed, to old clients and those without an identity; nothing is written', async () => {
    for (const identity of [V1, undefined]) {
      const refused = await refusal(
        upload(server, identity, 'old-1', {
          todo: [{ op: 'insert', id: 'u-1', columns: { owner_id: col('u1'), title: col('x') } }],
        }),
      );
      expect(refused.code).toBe('PRECONDITION_FAILED');
      expect(refused.message).toMatch(
        /^update_required: .*column "todo\.title" was made immutable/,
      );
      const down = await refusal(download(server, identity));
      expect(down.code).toBe('PRECONDITION_FAILED');
    }
    const { rows } = await sql`select id from todos`.execute(otherDb);
    expect(rows).toEqual([]);
    // The app's current version syncs.
    const page = (await download(server, configIdentity(immutableTitle))).tables['todo']!;
    expect(page.reset).toBe(false);
  });
});

describe('a widened filter and an added group', () => {
  // Release 1 syncs the open todos; release 2 syncs them all, and adds a group.
  const narrow = defineSyncConfig({
    tables: { todo: table(todoV1) },
    syncGroups: { mine: { todo: { ...mine, filter: { done: false } } } },
  });
  const wide = defineSyncConfig({
    tables: { todo: table(todoV1) },
    syncGroups: { mine: { todo: mine }, everyone: { todo: { readOnly: true } } },
  });
  let other: TestDatabase;
  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  let otherDb: Kysely<any>;
  let before: Instance;
  let after: Instance;

  beforeAll(async () => {
    other = await createTestDatabase('config-versions-filter');
    otherDb = createPgKysely<unknown>(other.url);
    await migrateServer(otherDb, narrow);
    before = await serve(otherDb, narrow);
    await migrateServer(otherDb, wide);
    after = await serve(otherDb, wide);
  });

  afterAll(async () => {
    await before?.close();
    await after?.close();
    await otherDb?.destroy();
    await other?.drop();
  });

  it('an old client keeps syncing: one first download, then the wider scope', async () => {
    const NARROW = configIdentity(narrow);
    await upload(before, NARROW, 'old-1', {
      todo: [{ op: 'insert', id: 'open', columns: { owner_id: col('u1'), title: col('o') } }],
    });
    // A done todo (outside release 1's scope), written outside Carburetor.
    await sql`insert into todos (id, owner_id, title, done) values ('closed', 'u1', 'c', true)`.execute(
      otherDb,
    );
    const first = (await download(before, NARROW)).tables['todo']!;
    expect(first.rows.map((r) => r[0])).toEqual(['open']);

    const page = (await download(after, NARROW, first.cursor)).tables['todo']!;
    expect(page.reset).toBe(true);
    expect(page.rows.map((r) => r[0]).sort()).toEqual(['closed', 'open']);
    // Its writes of rows the new filter lets in are taken.
    const answer = await upload(after, NARROW, 'old-1', {
      todo: [{ op: 'update', id: 'closed', columns: { title: col('c2') } }],
    });
    expect(answer.tables['todo']!.results[0]).toMatchObject({ ok: true });
  });
});
