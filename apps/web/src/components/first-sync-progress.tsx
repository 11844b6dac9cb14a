'use client';

import { useSyncProgress } from '../client/carburetor.ts';

/**
 * Below this many rows a first sync is over before a bar could be read: the
 * app shows nothing (the list fills in at once).
 */
const LARGE_FIRST_SYNC = 1_000;

/**
 * A progress bar while a large first sync downloads: rows done of rows
 * expected, as the server counted them in this user's scope. A reload in the
 * middle goes on from the last page the replica applied, bar included.
 */
export function FirstSyncProgress() {
  const { hasSynced, done, expected, fraction } = useSyncProgress();
  if (hasSynced || fraction === null || expected < LARGE_FIRST_SYNC) return null;
  const percent = Math.floor(fraction * 100);
  return (
    <section className="card first-sync" aria-label="First sync">
      <p className="small">
        Downloading your phone book to this device: {done.toLocaleString('en')} of{' '}
        {expected.toLocaleString('en')} rows ({percent}%). It works offline once this is done.
      </p>
      <div
        className="progress"
        role="progressbar"
        data-testid="first-sync-progress"
        aria-valuemin={0}
        aria-valuemax={expected}
        aria-valuenow={done}
      >
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
    </section>
  );
}
