import { config, SYNC_GROUPS } from '@{{name}}/sync-config';
import { createSyncClient, type SyncClient } from '@carburetor/client';
import { opfsDriver } from '@carburetor/client/browser';
import { trpcClient } from './trpc';

export type AppSyncClient = SyncClient<typeof config, (typeof SYNC_GROUPS)[number]>;

// Module level, one per user and page: React StrictMode runs effects twice,
// and two workers on one OPFS file would lock each other out.
const replicas = new Map<string, Promise<AppSyncClient>>();

/** The user's replica in this page (SQLite on OPFS or IndexedDB), opened and syncing on first use. */
export function replicaOf(userId: string): Promise<AppSyncClient> {
  let replica = replicas.get(userId);
  if (!replica) {
    replica = createSyncClient(config, {
      // SQLite on OPFS; IndexedDB where the browser has no usable OPFS (WebKitGTK, ...)
      driver: opfsDriver({ name: `app-${userId}`, fallback: 'indexeddb' }),
      identity: userId, // the replica is this user's: another user never sees or uploads its rows
      trpcClient: trpcClient(),
      path: 'sync', // where the sync router is mounted in server/router.ts
      groups: SYNC_GROUPS,
    }).then((client) => {
      client.start(); // background sync: on every write, poke, reconnect, and every 30 s
      return client;
    });
    replicas.set(userId, replica);
  }
  return replica;
}

/** Signing out: one last upload, then the replica is wiped and closed. */
export async function closeReplica(userId: string): Promise<void> {
  const replica = replicas.get(userId);
  if (!replica) return;
  replicas.delete(userId);
  const client = await replica;
  await client.stop();
  await client.sync().catch(() => undefined);
  await client.reset();
  await client.close();
}
