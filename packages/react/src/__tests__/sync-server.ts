import type { AddressInfo } from 'node:net';
import { createSyncClient, OnlineManager } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import { createPgKysely, createSyncRouter, migrateServer } from '@carburetor/server';
import { createTestDatabase } from '@carburetor/testing';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import type { Kysely } from 'kysely';
import { config, ME } from './fixtures.ts';

/**
 * A real PostgreSQL database with the sync router on a real HTTP server.
 * Every request can be held (`hold()`) or made to fail (`failing`) before
 * it reaches the router, to watch a client mid-sync and after an error.
 */
export async function startSyncServer(label: string) {
  const database = await createTestDatabase(label);
  const db: Kysely<unknown> = createPgKysely(database.url);
  await migrateServer(db, config);
  const router = createSyncRouter(config, {
    db,
    context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
  });
  let held: Promise<void> | undefined;
  let failing = false;
  const server = createHTTPServer({
    router,
    // happy-dom's fetch is a browser's: the page (http://localhost:3000) calls another origin.
    middleware: (req, res, next) => {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-allow-headers', '*');
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      if (req.method === 'OPTIONS') {
        res.writeHead(204).end();
        return;
      }
      next();
    },
    createContext: async () => {
      if (held) await held;
      if (failing) throw new Error('the test server is failing on purpose');
      return { userId: ME };
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: { close(): Promise<void> }[] = [];

  return {
    url,
    /** A client of user `ME` on its own in-memory replica, syncing over HTTP. */
    async client(online = new OnlineManager(() => undefined), pageSize?: number) {
      const client = await createSyncClient(config, {
        driver: memoryDriver(),
        url,
        groups: ['private_contacts'],
        onlineManager: online,
        ...(pageSize === undefined ? {} : { pageSize }),
      });
      clients.push(client);
      return client;
    },
    /** Holds every request until the returned function is called. */
    hold(): () => void {
      let release: () => void = () => undefined;
      held = new Promise<void>((resolve) => {
        release = () => {
          held = undefined;
          resolve();
        };
      });
      return release;
    },
    setFailing(value: boolean) {
      failing = value;
    },
    async stop() {
      for (const client of clients.splice(0)) await client.close().catch(() => undefined);
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await db.destroy();
      await database.drop();
    },
  };
}
