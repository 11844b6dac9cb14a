import { defineSyncConfig, table, text } from '@carburetor/core';

/** The realtime-push benchmark's config: one table, one group restricted to the user. */
export const realtimePushConfig = defineSyncConfig({
  tables: {
    contact: table({ plural: 'push_contacts' }, { owner_id: text().immutable(), name: text() }),
  },
  syncGroups: { mine: { contact: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
});

/** Every request over HTTP is this user's (the server's context says so): one scope. */
export const REALTIME_PUSH_USER = 'bench-user';

/** What the benchmark's processes say to each other. */
export type RealtimePushMessage =
  | { type: 'start'; databaseUrl: string }
  | { type: 'start'; url: string }
  | { type: 'listening'; url: string }
  | { type: 'ready' }
  | { type: 'seen'; ids: string[]; at: number }
  | { type: 'stop' }
  | { type: 'stopped' };
