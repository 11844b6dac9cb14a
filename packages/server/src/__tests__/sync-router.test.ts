import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DownloadRequest, PROTOCOL_VERSION } from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { initTRPC, TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { createSyncRouter, type SyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { contactsConfig } from './download-support.ts';

const database = await createTestDatabase('router');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
const config = contactsConfig('http');

interface AppContext {
  user: string | undefined;
}
const userOf = (req: IncomingMessage | Request): string | undefined => {
  const header = req.headers instanceof Headers ? req.headers.get('x-user') : req.headers['x-user'];
  return typeof header === 'string' ? header : undefined;
};

// A plain Node server through tRPC's standalone adapter, with the default procedure.
const plainRouter = createSyncRouter(config, {
  db,
  context: (ctx: AppContext) => ({ userId: ctx.user }),
});
const standalone = createHTTPServer({
  router: plainRouter,
  createContext: ({ req }): AppContext => ({ user: userOf(req) }),
});

// A Next.js-style route handler (fetch adapter) with the app's own authenticated procedure.
const t = initTRPC.context<AppContext>().create();
const authed = t.procedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in first' });
  return next({ ctx: { account: { id: ctx.user } } });
});
const appRouter = createSyncRouter(config, {
  db,
  procedure: authed,
  context: (ctx) => ({ userId: ctx.account.id }),
});
const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: '/api/sync',
    req,
    router: appRouter,
    createContext: (): AppContext => ({ user: userOf(req) }),
  });
const routeHandlerServer: Server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const request = new Request(`http://127.0.0.1${req.url}`, {
    method: req.method,
    headers: req.headers as Record<string, string>,
    body: req.method === 'GET' ? undefined : Buffer.concat(chunks),
  });
  const response = await handler(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
});

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

let plainUrl = '';
let routeUrl = '';

beforeAll(async () => {
  await migrateServer(db, config);
  await sql`insert into http_contacts (id, owner_id, name) values
    ('a1', 'alice', 'Ann'), ('a2', 'alice', 'Al'), ('b1', 'bob', 'Bo')`.execute(db);
  plainUrl = await listen(standalone);
  routeUrl = `${await listen(routeHandlerServer)}/api/sync`;
});

afterAll(async () => {
  standalone.close();
  routeHandlerServer.close();
  await db.destroy();
  await database.drop();
});

function clientFor(url: string, user?: string, batch = false) {
  const headers = user ? { 'x-user': user } : {};
  return createTRPCClient<SyncRouter<typeof config>>({
    links: [batch ? httpBatchLink({ url, headers }) : httpLink({ url, headers })],
  });
}

const firstDownload: DownloadRequest = {
  protocol: PROTOCOL_VERSION,
  clientId: 'device-1',
  tables: { contact: { cursor: null, hasRows: false } },
};

async function codeOf(promise: Promise<unknown>) {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TRPCClientError);
  const e = error as TRPCClientError<SyncRouter<typeof config>>;
  return { code: e.data?.code, status: e.data?.httpStatus, message: e.message };
}

describe('createSyncRouter over real HTTP', () => {
  it('gives each user only their rows of a restricted group (Node standalone adapter)', async () => {
    const alice = await clientFor(plainUrl, 'alice').mine.download.mutate(firstDownload);
    const bob = await clientFor(plainUrl, 'bob', true).mine.download.mutate(firstDownload);
    expect(alice.tables['contact']!.rows.map((r) => r[0]).sort()).toEqual(['a1', 'a2']);
    expect(bob.tables['contact']!.rows.map((r) => r[0])).toEqual(['b1']);
    expect(alice.protocol).toBe(PROTOCOL_VERSION);
  });

  it("never tells Bob Alice's private ids: directory downloads with hasRows, and guessed updates", async () => {
    // Alice's private rows (a1, a2 from the setup) and one she writes and deletes now.
    const alice = clientFor(plainUrl, 'alice');
    const bob = clientFor(plainUrl, 'bob');
    await sql`insert into http_contacts (id, owner_id, name) values ('a-secret', 'alice', 'S')`.execute(
      db,
    );
    await sql`update http_contacts set is_deleted = true where id = 'a-secret'`.execute(db);
    const privateIds = ['a1', 'a2', 'a-secret'];
    const seen: string[] = [];
    // Bob's replica holds rows from his own group, so his directory pass says hasRows: true.
    let cursor: string | null = null;
    for (let pass = 0; pass < 3; pass++) {
      const page = await bob.directory.download.mutate({
        ...firstDownload,
        tables: { contact: { cursor, hasRows: true } },
      });
      seen.push(JSON.stringify(page));
      cursor = page.tables['contact']!.cursor;
      await sql`update http_contacts set name = name || '!' where owner_id = 'alice'`.execute(db);
    }
    // Guessing an id: an update reads as an unknown id, an insert says only that it is taken.
    const guess = await bob.mine.upload.mutate({
      protocol: PROTOCOL_VERSION,
      clientId: 'device-b',
      tables: {
        contact: [
          { op: 'update', id: 'a1', columns: { name: { value: 'mine', t: 1 } } },
          { op: 'update', id: 'no-such-id', columns: { name: { value: 'mine', t: 1 } } },
        ],
      },
    });
    const [onA1, onUnknown] = guess.tables['contact']!.results;
    expect(onA1).toMatchObject({ ok: false, code: 'record_not_found' });
    expect(onA1!.ok || onA1!.message.replace('a1', 'ID')).toBe(
      onUnknown!.ok || onUnknown!.message.replace('no-such-id', 'ID'),
    );
    for (const id of privateIds) expect(seen.join('\n')).not.toContain(`"${id}"`);
    expect(seen.join('\n')).not.toContain('alice');
    expect(JSON.stringify(guess)).not.toContain('alice');
    // Alice's own view is whole.
    const own = await alice.mine.download.mutate(firstDownload);
    expect(own.tables['contact']!.rows.map((r) => r[0]).sort()).toEqual(['a1', 'a2']);
  });

  it('answers UNAUTHORIZED when a restricted group gets no context value', async () => {
    expect(await codeOf(clientFor(plainUrl).mine.download.mutate(firstDownload))).toMatchObject({
      code: 'UNAUTHORIZED',
      status: 401,
      message: expect.stringContaining('"userId"'),
    });
    // An unrestricted group needs none.
    const open = await clientFor(plainUrl).everything.download.mutate(firstDownload);
    expect(open.tables['contact']!.rows).toHaveLength(3);
  });

  it('refuses a malformed request with BAD_REQUEST and a clear message, writing nothing', async () => {
    const rowCount = async () =>
      (await sql<{ n: number }>`select count(*)::int as n from http_contacts`.execute(db)).rows[0]
        ?.n;
    const countBefore = await rowCount();
    const client = clientFor(plainUrl, 'alice');
    const wrongVersion = { ...firstDownload, protocol: 99 } as unknown as typeof firstDownload;
    expect(await codeOf(client.mine.download.mutate(wrongVersion))).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('protocol version 99 is not supported'),
    });
    const badCursor = { ...firstDownload, tables: { contact: { cursor: 'zzz', hasRows: true } } };
    expect(await codeOf(client.mine.download.mutate(badCursor))).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('cursor of table "contact" is malformed'),
    });
    const badUpload = {
      protocol: PROTOCOL_VERSION,
      clientId: 'device-1',
      tables: { contact: [{ op: 'upsert', id: 'x1', columns: {} }] },
    } as never;
    expect(await codeOf(client.mine.upload.mutate(badUpload))).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('contact.0.op'),
    });
    expect(await rowCount()).toBe(countBefore);
  });

  it("serves a Next.js route handler (fetch adapter) through the app's own procedure, by POST only", async () => {
    const alice = await clientFor(routeUrl, 'alice').mine.download.mutate(firstDownload);
    expect(alice.tables['contact']!.rows.map((r) => r[0]).sort()).toEqual(['a1', 'a2']);
    // The app's middleware runs first: its own message, not Carburetor's.
    expect(await codeOf(clientFor(routeUrl).mine.download.mutate(firstDownload))).toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'sign in first',
    });
    const input = encodeURIComponent(JSON.stringify(firstDownload));
    const get = await fetch(`${routeUrl}/mine.download?input=${input}`, {
      headers: { 'x-user': 'alice' },
    });
    expect(get.status).toBe(405);
  });

  it('uploads through the router, and a plain SQL update beats an older offline edit uploaded later', async () => {
    const client = clientFor(plainUrl, 'alice');
    const offlineEditTime = Date.now() * 1000; // stamped by the replica before the admin's fix
    await sql`update http_contacts set name = 'Fixed by admin' where id = 'a1'`.execute(db);
    const response = await client.mine.upload.mutate({
      protocol: PROTOCOL_VERSION,
      clientId: 'device-1',
      tables: {
        contact: [
          {
            op: 'update',
            id: 'a1',
            columns: { name: { value: 'Offline edit', t: offlineEditTime } },
          },
          {
            op: 'insert',
            id: 'a3',
            columns: {
              owner_id: { value: 'alice', t: offlineEditTime },
              name: { value: 'New', t: offlineEditTime },
            },
          },
        ],
      },
    });
    const [fixed, inserted] = response.tables['contact']!.results;
    expect(fixed).toMatchObject({ id: 'a1', ok: true });
    // A lean answer (protocol 3): the name that lost comes back with the admin's value and stamp.
    expect(fixed).toMatchObject({ others: { name: { value: 'Fixed by admin', c: 'server' } } });
    expect(fixed && 'others' in fixed && Object.keys(fixed.others ?? {})).toEqual(['name']);
    expect(inserted).toMatchObject({ id: 'a3', ok: true });
    const page = await client.mine.download.mutate(firstDownload);
    expect(page.tables['contact']!.rows.map((r) => r[0]).sort()).toEqual(['a1', 'a2', 'a3']);
  });
});
