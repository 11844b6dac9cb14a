// module level: one replica per user and page
import { createSyncClient } from '@carburetor/client';
import { opfsDriver } from '@carburetor/client/browser';
import { createCarburetorHooks } from '@carburetor/react';
import { config } from '../sync-config';

export function openReplica(userId: string) {
  return createSyncClient(config, {
    // SQLite on OPFS, shared by the origin's tabs; IndexedDB where the browser has no usable OPFS
    driver: opfsDriver({ name: `todos-${userId}`, fallback: 'indexeddb' }),
    identity: userId, // the replica is this user's: another user never sees or uploads its rows
    url: '/api/trpc', // or trpcClient: your app's tRPC client
    path: 'sync', // where createSyncRouter is mounted
    groups: ['mine'],
  }).then((client) => {
    client.start(); // background sync: on every write, poke, reconnect, and every 30 s
    return client;
  });
}

export const { CarburetorProvider, useActiveTodos, useInsertTodo, useUpdateTodo, useSyncStatus } =
  createCarburetorHooks(config);
