// Run by database-restart.test.ts in a child process: the sync server set up as the server
// README shows (createPgKysely(url), createSyncRouter, realtime on), over real HTTP. The test
// stops and restarts PostgreSQL under it; this process must live through that by itself, so
// nothing here catches errors process-wide (no 'uncaughtException' handler).
import type { AddressInfo } from 'node:net';
import { createChangeHub, createPgKysely, createSyncRouter } from '@carburetor/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { phoneBookConfig } from './fixtures.ts';

const databaseUrl = process.argv[2];
if (!databaseUrl) throw new Error('usage: database-restart-server.ts <database url>');

const db = createPgKysely(databaseUrl);
// The LISTEN connection's reconnect backoff capped at 1 s (default 5 s), to keep the test short.
const changes = createChangeHub(phoneBookConfig, { db, retryDelayMs: { max: 1_000 } });
const router = createSyncRouter(phoneBookConfig, {
  db,
  changes,
  context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
});
const server = createHTTPServer({
  router,
  createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
