import type { AddressInfo } from 'node:net';
import { downloadRowsToWire, type UploadRow, type WireRow } from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { createSyncRouter, type SyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { at, cols, contactInsert, request, uploadConfig } from './upload-config.ts';

type Router = SyncRouter<typeof uploadConfig, { userId: string }>;

const database = await createTestDatabase('upload-router');
// Two app instances, each with its own pool and router, serving one database.
const instances = [0, 1].map(() => {
  const db = createPgKysely<unknown>(database.url);
  const router = createSyncRouter(uploadConfig, {
    db,
    context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
  });
  const server = createHTTPServer({
    router,
    createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
  });
  return { db, server };
});

function clientOf(instance: number, user: string) {
  const address = instances[instance]!.server.address() as AddressInfo;
  return createTRPCClient<Router>({
    links: [httpLink({ url: `http://127.0.0.1:${address.port}`, headers: { 'x-user': user } })],
  });
}

beforeAll(async () => {
  await migrateServer(instances[0]!.db, uploadConfig);
  for (const { server } of instances) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
});

afterAll(async () => {
  for (const { db, server } of instances) {
    await new Promise((resolve) => server.close(resolve));
    await db.destroy();
  }
  await database.drop();
});

const count = async () => {
  const { rows } = await sql<{ n: string }>`select count(*) as n from contacts`.execute(
    instances[0]!.db,
  );
  return Number(rows[0]?.n);
};

describe('upload through the router over HTTP', () => {
  it('answers with the rows a download from another instance then sends', async () => {
    const rows: UploadRow[] = [
      contactInsert('r-1', 'u1', at(0), { name: 'One' }),
      contactInsert('r-2', 'u1', at(0), { name: 'Two', note: "it's" }),
      { op: 'update', id: 'r-1', columns: cols(at(5), { phone: '123', is_deleted: true }) },
      { op: 'update', id: 'r-2', columns: cols(at(-5), { name: 'Older, loses' }) },
      contactInsert('r-3', 'u2', at(0)), // another user's: refused
    ];
    // Version 2: the answer carries whole rows, compared with what a download sends.
    const uploaded = await clientOf(0, 'u1').mine.upload.mutate(
      request('client-a', { contact: rows }, 2),
    );
    const table = uploaded.tables['contact']!;
    expect(table.results.map((r) => r.ok || r.code)).toEqual([
      true,
      true,
      true,
      true,
      'insufficient_permission',
    ]);

    const downloaded = await clientOf(1, 'u1').mine.download.mutate({
      protocol: 1,
      clientId: 'client-b',
      tables: { contact: { cursor: null, hasRows: true } },
    });
    const page = downloaded.tables['contact']!;
    expect(page.columns).toEqual(table.columns);
    const byId = (list: WireRow[]) => Object.fromEntries(list.map((row) => [row[0], row]));
    const answered = byId(table.results.flatMap((r) => (r.ok && 'row' in r ? [r.row] : [])));
    // The deleted row comes as a tombstone; every other row exactly as the upload answered it.
    expect(page.tombstones).toEqual(['r-1']);
    expect(answered['r-1']?.[table.columns.indexOf('is_deleted') + 3]).toBe(true);
    delete answered['r-1'];
    expect(byId(downloadRowsToWire(page))).toEqual(answered);
    expect(answered['r-2']?.slice(3, 6)).toEqual(['u1', 'none', 'Two']);
  });

  it('refuses a request of the wrong structure whole, writing nothing', async () => {
    const before = await count();
    const client = clientOf(0, 'u1');
    const good = contactInsert('s-1', 'u1', at(0));
    const broken = [
      { ...request('client-a', { contact: [good] }), protocol: 4 },
      { ...request('client-a', { contact: [good] }), tables: { contact: [good], nope: [] } },
      request('client-a', { contact: [{ ...good, op: 'upsert' } as never] }),
      request('Not A Client', { contact: [good] }),
    ];
    for (const input of broken) {
      const error = await client.mine.upload.mutate(input as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<Router>).data?.code).toBe('BAD_REQUEST');
    }
    // An unknown group is no procedure at all.
    const unknown = await (client as unknown as Record<string, typeof client.mine>)
      ['nope']!.upload.mutate(request('client-a', { contact: [good] }))
      .catch((e: unknown) => e);
    expect((unknown as TRPCClientError<Router>).data?.code).toBe('NOT_FOUND');
    expect(await count()).toBe(before);
  });
});
