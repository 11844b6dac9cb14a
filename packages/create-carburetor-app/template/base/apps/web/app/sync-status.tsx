'use client';

import { useSyncStatus } from '../client/hooks';

/** The sync client's state: live (realtime connected), pending uploads, errors. */
export function SyncStatus() {
  const status = useSyncStatus();
  return (
    <p data-testid="sync-status">
      {status.live ? 'live' : status.online ? 'connecting' : 'offline'}
      {status.pendingCount > 0 ? `, ${status.pendingCount} to upload` : ''}
      {status.lastError ? `, last error: ${status.lastError.message}` : ''}
    </p>
  );
}
