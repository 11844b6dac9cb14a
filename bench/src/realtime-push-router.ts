import type { AddressInfo } from 'node:net';
import { type ChangeHub, createChangeHub, createSyncRouter } from '@carburetor/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import type { Kysely } from 'kysely';
import { realtimePushConfig as config } from './realtime-push-config.ts';

/** The realtime-push benchmark's server: a router with a ChangeHub, default settings. */
export interface PushServer {
  readonly hub: ChangeHub;
  /** Listens on a free port of 127.0.0.1; resolves with the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A router with a ChangeHub (default settings: pushes on) on `db`, over
 * HTTP (tRPC's standalone adapter); every request is `user`'s.
 */
// biome-ignore lint/suspicious/noExplicitAny: any schema
export function createPushServer(db: Kysely<any>, user: string): PushServer {
  const hub = createChangeHub(config, { db, onError: () => undefined });
  const router = createSyncRouter(config, {
    db,
    changes: hub,
    context: () => ({ userId: user }),
  });
  const server = createHTTPServer({ router, createContext: () => ({}) });
  server.keepAliveTimeout = 120_000;
  return {
    hub,
    listen: () =>
      new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => {
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
        });
      }),
    async close() {
      await hub.close();
      server.closeAllConnections();
      server.close();
    },
  };
}
