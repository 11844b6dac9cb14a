import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createChangeHub, createPgKysely, createSyncRouter } from '@carburetor/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import {
  realtimePushConfig as config,
  REALTIME_PUSH_USER,
  type RealtimePushMessage,
} from './realtime-push-config.ts';

/**
 * The realtime-push benchmark's server, in a process of its own as an app's
 * server runs: a router with a ChangeHub (default settings: pushes on) on
 * the benchmark's database, over HTTP (tRPC's standalone adapter).
 */
function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

let stop: (() => Promise<void>) | undefined;

process.on('message', async (message: RealtimePushMessage) => {
  if (message.type === 'start' && 'databaseUrl' in message) {
    const db = createPgKysely(message.databaseUrl);
    const hub = createChangeHub(config, { db, onError: () => undefined });
    const router = createSyncRouter(config, {
      db,
      changes: hub,
      context: () => ({ userId: REALTIME_PUSH_USER }),
    });
    const server = createHTTPServer({ router, createContext: () => ({}) });
    server.keepAliveTimeout = 120_000;
    const url = await listen(server);
    stop = async () => {
      await hub.close();
      server.closeAllConnections();
      server.close();
      await db.destroy();
    };
    process.send?.({ type: 'listening', url } satisfies RealtimePushMessage);
  } else if (message.type === 'stop') {
    await stop?.();
    process.send?.({ type: 'stopped' } satisfies RealtimePushMessage);
    process.exit(0);
  }
});
