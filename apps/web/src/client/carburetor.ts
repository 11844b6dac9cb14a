'use client';

import { createSyncClient, type SyncClient } from '@carburetor/client';
import { type OpfsDriver, opfsDriver } from '@carburetor/client/browser';
import { createCarburetorHooks } from '@carburetor/react';
import { config, SYNC_GROUPS } from '../sync-config.ts';
import { appTrpcClient } from './trpc.ts';

export const {
  CarburetorProvider,
  useActivePhoneBooks,
  useInsertPhoneBook,
  useUpdatePhoneBook,
  useDeletePhoneBook,
  useLocalQuery,
  useSyncStatus,
  useSyncProgress,
} = createCarburetorHooks(config);

export type PhoneBookClient = SyncClient<typeof config, (typeof SYNC_GROUPS)[number]>;

/** A signed-in user's replica: its driver (one worker per page) and its sync client. */
export interface Replica {
  readonly userId: string;
  readonly driver: OpfsDriver;
  readonly client: Promise<PhoneBookClient>;
}

/** How often the background loop syncs when no write or realtime poke made it sync sooner. */
const SYNC_INTERVAL_MS = 15_000;

// Module level, one per user and page: React StrictMode runs effects twice,
// and two workers on one OPFS file would lock each other out.
const replicas = new Map<string, Replica>();

/** The replica of `userId` in this page, opened (and its sync started) on first use. Browser only. */
export function replicaFor(userId: string): Replica {
  let replica = replicas.get(userId);
  if (!replica) {
    // IndexedDB where the browser refuses OPFS access handles (WebKitGTK): the replica still survives reloads.
    const driver = opfsDriver({ name: `carburetor-${userId}`, fallback: 'indexeddb' });
    const client = createSyncClient(config, {
      driver,
      // The replica is this user's: opened for someone else it shows and uploads none of its rows.
      identity: userId,
      trpcClient: appTrpcClient(),
      path: 'sync',
      groups: SYNC_GROUPS,
    }).then((c) => {
      c.start({ intervalMs: SYNC_INTERVAL_MS });
      exposeForDevtools(userId, driver, c);
      return c;
    });
    replica = { userId, driver, client };
    replicas.set(userId, replica);
  }
  return replica;
}

/**
 * Signing out: one last upload of what can be uploaded, then the replica is
 * wiped (rows, cursors, rejections: `client.reset()`) and closed, so nothing
 * of this user stays in the browser.
 */
export async function closeReplica(userId: string): Promise<void> {
  const replica = replicas.get(userId);
  if (!replica) return;
  replicas.delete(userId);
  const client = await replica.client;
  await client.stop();
  await client.sync().catch(() => undefined);
  await client.reset();
  await client.close();
  if (window.__carburetor?.client === client) delete window.__carburetor;
}

declare global {
  interface Window {
    /** Devtools handle: the signed-in user's sync client and driver (`await __carburetor.client.db...`). */
    __carburetor?: { userId: string; driver: OpfsDriver; client: PhoneBookClient };
  }
}

function exposeForDevtools(userId: string, driver: OpfsDriver, client: PhoneBookClient) {
  window.__carburetor = { userId, driver, client };
}
