import { defineSyncConfig, table, text } from '@carburetor/core';

/** The realtime-push benchmark's config: one table, one group restricted to the user. */
export const realtimePushConfig = defineSyncConfig({
  tables: {
    contact: table({ plural: 'push_contacts' }, { owner_id: text().immutable(), name: text() }),
  },
  syncGroups: { mine: { contact: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
});

/**
 * Each setup's user: every request to its server is that user's (the
 * server's context says so), one scope per setup, so one setup's writes are
 * not pushed to the other's clients (both servers' hubs LISTEN on the one
 * database).
 */
export const REALTIME_PUSH_USERS = { apart: 'bench-user-apart', together: 'bench-user' } as const;

/** What the benchmark's processes say to each other. */
export type RealtimePushMessage =
  | { type: 'start'; databaseUrl: string; user: string }
  | { type: 'start'; url: string }
  | { type: 'listening'; url: string }
  | { type: 'ready' }
  /** B's change event: its rows, when, and what brought them (a pushed page, or a download). */
  | { type: 'seen'; ids: string[]; at: number; by: string }
  | { type: 'stop' }
  | { type: 'stopped' };
