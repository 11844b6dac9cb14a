'use client';

import { useSyncProgress } from '../client/carburetor.ts';

/**
 * Below this many rows a first sync is over before a bar could be read: the
 * app shows nothing (the list fills in at once).
 */
const LARGE_FIRST_SYNC = 1_000;

/**
 * A progress bar while a large first sync downloads: rows done of rows
 * expected, as the server counted them in this user's scope. Over 1,000,000
 * rows left the count is only a floor, so the bar is indeterminate (it would
 * fall back at each new count) and says how many rows came so far. A reload
 * in the middle goes on from the last page the replica applied, bar included.
 */
export function FirstSyncProgress() {
  const { hasSynced, downloading, done, expected, fraction } = useSyncProgress();
  if (hasSynced || !downloading || expected < LARGE_FIRST_SYNC) return null;
  const rows = (n: number) => n.toLocaleString('en');
  const percent = fraction === null ? undefined : Math.floor(fraction * 100);
  return (
    <section className="card first-sync" aria-label="First sync">
      <p className="small">
        Downloading your phone book to this device:{' '}
        {percent === undefined
          ? `${rows(done)} rows so far, more than ${rows(expected)} in all.`
          : `${rows(done)} of ${rows(expected)} rows (${percent}%).`}{' '}
        It works offline once this is done.
      </p>
      <div
        className="progress"
        role="progressbar"
        data-testid="first-sync-progress"
        aria-valuemin={0}
        aria-valuemax={percent === undefined ? undefined : expected}
        aria-valuenow={percent === undefined ? undefined : done}
        aria-valuetext={percent === undefined ? `${rows(done)} rows so far` : undefined}
      >
        <div
          className={percent === undefined ? 'progress-fill indeterminate' : 'progress-fill'}
          style={percent === undefined ? undefined : { width: `${percent}%` }}
        />
      </div>
    </section>
  );
}
