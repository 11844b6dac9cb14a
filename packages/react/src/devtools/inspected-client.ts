import type { SyncClientBase } from '@carburetor/client';
import type { AnySyncConfig } from '@carburetor/core';

/** What the inspector reads and does, all of it public client API: any sync client fits. */
export type InspectedClient = Pick<
  SyncClientBase<AnySyncConfig, string>,
  | 'status'
  | 'subscribe'
  | 'onChange'
  | 'pending'
  | 'rejected'
  | 'discard'
  | 'cursors'
  | 'recentActivity'
  | 'onActivity'
  | 'queryReadOnly'
  | 'sync'
>;
