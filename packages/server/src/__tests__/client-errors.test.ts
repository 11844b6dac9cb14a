import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROTOCOL_VERSION } from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import type { SyncErrorReport } from '../router/client-errors.ts';
import { createSyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { contactsConfig } from './download-support.ts';

const config = contactsConfig('errs');
const migrated = await createTestDatabase('client-errors');
const bare = await createTestDatabase('client-errors-bare');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const migratedDb: Kysely<any> = createPgKysely(migrated.url);
// biome-ignore lint/suspicious/noExplicitAny: any schema
const bareDb: Kysely<any> = createPgKysely(bare.url);
// Nothing listens on port 1: every query fails to connect.
// biome-ignore lint/suspicious/noExplicitAny: any schema
const downDb: Kysely<any> = createPgKysely({
  connectionString: 'postgres://postgres@127.0.0.1:1/none',
  connectionTimeoutMillis: 2_000,
});

const reports: SyncErrorReport[] = [];
const servers: Server[] = [];

interface Ctx {
  user: string | undefined;
}

async function serve(
  // biome-ignore lint/suspicious/noExplicitAny: any schema
  db: Kysely<any>,
  context: (ctx: Ctx) => { userId: string | undefined } = (ctx) => ({ userId: ctx.user }),
): Promise<string> {
  const router = createSyncRouter(config, {
    db,
    context,
    onError: (report) => reports.push(report),
  });
  const server = createHTTPServer({
    router,
    createContext: ({ req }): Ctx => ({
      user: typeof req.headers['x-user'] === 'string' ? req.headers['x-user'] : undefined,
    }),
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const download = {
  protocol: PROTOCOL_VERSION,
  clientId: 'device-1',
  tables: { contact: { cursor: null, hasRows: false } },
};

interface ErrorBody {
  error: { message: string; data: { code: string; httpStatus: number; stack?: string } };
}

async function call(url: string, path: string, body: unknown, user = 'alice') {
  const response = await fetch(`${url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user': user },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) as ErrorBody };
}

let migratedUrl = '';
const previousEnv = process.env['NODE_ENV'];

beforeAll(async () => {
  // tRPC sends stacks outside production: the router must hide them by itself.
  process.env['NODE_ENV'] = 'development';
  await migrateServer(migratedDb, config);
  migratedUrl = await serve(migratedDb);
});

afterAll(async () => {
  process.env['NODE_ENV'] = previousEnv;
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await Promise.all([migratedDb.destroy(), bareDb.destroy(), downDb.destroy()]);
  await Promise.all([migrated.drop(), bare.drop()]);
});

describe('operators see errors; clients never see internals', () => {
  it('a server that was never migrated answers that it is not set up, and logs what to run', async () => {
    reports.length = 0;
    const url = await serve(bareDb);
    const { status, text, json } = await call(url, 'mine.download', download);
    expect(status).toBe(503);
    expect(json.error.data.code).toBe('SERVICE_UNAVAILABLE');
    expect(json.error.message).toMatch(
      /^The sync server is not set up: .* \(error id [0-9a-f]{12}\)\.$/,
    );
    expect(text).not.toContain('relation');
    expect(text).not.toContain('errs_contacts');
    expect(text).not.toContain('stack');
    expect(reports).toHaveLength(1);
    const [report] = reports;
    expect(json.error.message).toContain(report!.id);
    expect(report!.path).toBe('mine.download');
    expect(String(report!.error)).toContain('run migrateServer(db, config) at startup');
    expect(String((report!.error as Error).cause)).toContain(
      'relation "errs_contacts" does not exist',
    );
  });

  it('a database that cannot be reached answers a retryable SERVICE_UNAVAILABLE', async () => {
    reports.length = 0;
    const url = await serve(downDb);
    const upload = { protocol: PROTOCOL_VERSION, clientId: 'device-1', tables: { contact: [] } };
    for (const [path, body] of [
      ['mine.download', download],
      ['mine.upload', upload],
    ] as const) {
      const { status, json, text } = await call(url, path, body);
      expect(status).toBe(503);
      expect(json.error.message).toMatch(
        /^The sync server cannot reach its database right now \(error id [0-9a-f]{12}\); retry shortly\.$/,
      );
      expect(text).not.toContain('ECONNREFUSED');
      expect(text).not.toContain('stack');
    }
    expect(reports.map((r) => r.path)).toEqual(['mine.download', 'mine.upload']);
    expect(String(reports[0]!.error)).toMatch(/ECONNREFUSED|connect/);
  });

  it('sends no stack for a refused request, even with NODE_ENV=development', async () => {
    reports.length = 0;
    const { status, json } = await call(migratedUrl, 'mine.download', {
      ...download,
      protocol: 99,
    });
    expect(status).toBe(400);
    expect(json.error.message).toContain('protocol version 99 is not supported');
    expect(json.error.data.stack).toBeUndefined();
    // A refusal is the client's problem, not the operator's.
    expect(reports).toHaveLength(0);
  });

  it('a restricted group refuses a context value its column cannot hold (NUL), before any SQL', async () => {
    reports.length = 0;
    for (const path of ['mine.download', 'mine.upload']) {
      const body =
        path === 'mine.download'
          ? download
          : { protocol: PROTOCOL_VERSION, clientId: 'device-1', tables: { contact: [] } };
      // A header cannot carry a NUL: the app's context function makes it.
      const url = await serve(migratedDb, () => ({ userId: 'al\u0000ice' }));
      const { status, json } = await call(url, path, body);
      expect(status).toBe(400);
      expect(json.error.message).toMatch(
        /The context value "userId" of sync group "mine" is not a valid text for errs_contacts\.owner_id \(text cannot hold a NUL/,
      );
    }
    expect(reports).toHaveLength(0);
  });

  it("passes the app's own refusal from its context function through, without a stack", async () => {
    const url = await serve(migratedDb, () => {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'this account is suspended' });
    });
    const { status, json } = await call(url, 'mine.download', download);
    expect(status).toBe(403);
    expect(json.error.message).toBe('this account is suspended');
    expect(json.error.data.stack).toBeUndefined();
  });

  it('a body nested 100,000 deep is a BAD_REQUEST, not a stack overflow', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const body = `{"protocol":${PROTOCOL_VERSION},"clientId":"device-1","tables":{"contact":[{"op":"insert","id":"x","columns":{"name":{"t":1,"value":${deep}}}}]}}`;
    const { status, json } = await call(migratedUrl, 'mine.upload', body);
    expect(status).toBe(400);
    expect(json.error.message).not.toMatch(/call stack/i);
    expect(json.error.message.length).toBeLessThan(1_000);
  });

  it('a request naming 200,000 unknown tables gets a short answer', async () => {
    const tables: Record<string, unknown> = {};
    for (let i = 0; i < 200_000; i++) tables[`t${i}`] = { cursor: null, hasRows: false };
    const { status, json } = await call(migratedUrl, 'mine.download', { ...download, tables });
    expect(status).toBe(400);
    expect(json.error.message).toMatch(/has no table "t0", .* and 199995 more/);
    expect(json.error.message.length).toBeLessThan(1_000);
  });

  it('a failing onError handler does not change what the client is told', async () => {
    const router = createSyncRouter(config, {
      db: bareDb,
      context: () => ({ userId: 'alice' }),
      onError: () => {
        throw new Error('the logger is down');
      },
    });
    const server = createHTTPServer({ router });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { status, json } = await call(url, 'mine.download', download);
    expect(status).toBe(503);
    expect(json.error.message).toContain('not set up');
  });
});

describe('the tRPC config the router brings', () => {
  it('keeps isDev off for errors tRPC itself raises (unknown procedure)', async () => {
    const { status, json } = await call(migratedUrl, 'mine.nothing', download);
    expect(status).toBe(404);
    expect(json.error.data.stack).toBeUndefined();
  });

  it('sends no stack from its own errors inside an app router whose tRPC has isDev on', async () => {
    const t = initTRPC.create({ isDev: true });
    const app = t.router({
      sync: createSyncRouter(config, { db: migratedDb, context: () => ({ userId: 'alice' }) }),
    });
    const server = createHTTPServer({ router: app });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const refused = await call(url, 'sync.mine.download', { ...download, protocol: 99 });
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toContain('protocol version 99');
    expect(refused.json.error.data.stack).toBeUndefined();
    const cursor = await call(url, 'sync.mine.download', {
      ...download,
      tables: { contact: { cursor: 'zzz', hasRows: true } },
    });
    expect(cursor.status).toBe(400);
    expect(cursor.json.error.data.stack).toBeUndefined();
  });
});
