'use client';

import type { RejectedRow } from '@carburetor/client';
import type { OpfsStorage } from '@carburetor/client/browser';
import { NOT_STARTED_STATUS } from '@carburetor/react';
import { useEffect, useState } from 'react';
import { replicaFor, useSyncStatus } from '../client/carburetor.ts';
import type { config } from '../sync-config.ts';

function ago(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return new Date(iso).toLocaleTimeString();
}

/** Where the replica lives, as the badge's panel says it. */
const STORAGE_LABELS: Record<OpfsStorage, string> = {
  opfs: 'this browser (OPFS)',
  indexeddb: 'this browser (IndexedDB: this browser has no usable OPFS)',
  memory: 'memory only: lost on reload',
};

/** Re-renders every few seconds, so "last synced 12 s ago" stays true. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/**
 * The sync state at a glance: online or offline, realtime on or off,
 * changes waiting to upload, the last sync, and rows the server refused
 * (with a way to revert them to the server's version).
 */
export function SyncBadge({ userId }: { userId: string }) {
  const status = useSyncStatus();
  // The client's own realtime subscriptions (`<group>.changes`), in the tab that syncs.
  const realtime = status.live ? 'live' : status.running ? 'connecting' : 'down';
  const now = useNow(5_000);
  const [open, setOpen] = useState(false);
  const started = status !== NOT_STARTED_STATUS;
  // Known once the replica is open: OPFS, or IndexedDB where the browser refuses OPFS (WebKitGTK).
  const storage = started ? replicaFor(userId).driver.storage : undefined;
  const state = !started
    ? 'starting'
    : !status.online
      ? 'offline'
      : status.lastError
        ? 'error'
        : status.phase !== 'idle'
          ? 'syncing'
          : status.pendingCount > 0
            ? 'pending'
            : 'synced';
  const label = {
    starting: 'Opening…',
    offline: 'Offline',
    error: 'Sync failed',
    syncing: 'Syncing…',
    pending: 'Changes waiting',
    synced: 'Up to date',
  }[state];
  return (
    <div
      className={`badge badge-${state}`}
      data-testid="sync-badge"
      data-state={state}
      data-online={String(status.online)}
      data-live={realtime}
      data-pending={status.pendingCount}
      data-rejected={status.rejectedCount}
      data-phase={status.phase}
      data-last-synced={status.lastSyncedAt ?? ''}
      data-storage={storage ?? ''}
    >
      <button
        type="button"
        className="badge-main"
        onClick={() => setOpen((o) => !o)}
        aria-expanded={open}
      >
        <span className="dot" aria-hidden="true" />
        {label}
        {status.pendingCount > 0 ? <span className="count">{status.pendingCount}</span> : null}
      </button>
      {open ? (
        <div className="badge-panel card">
          <dl>
            <dt>Network</dt>
            <dd>{status.online ? 'online' : 'offline: changes are kept on this device'}</dd>
            <dt>Live updates</dt>
            <dd>
              {realtime === 'live'
                ? 'on'
                : status.running
                  ? 'connecting… (or in another tab)'
                  : 'off'}
            </dd>
            <dt>Stored in</dt>
            <dd>{storage ? STORAGE_LABELS[storage] : 'opening…'}</dd>
            <dt>Waiting to upload</dt>
            <dd>{status.pendingCount}</dd>
            <dt>Last synced</dt>
            <dd title={status.lastSyncedAt ?? undefined}>{ago(status.lastSyncedAt, now)}</dd>
            {status.lastError ? (
              <>
                <dt>Last error</dt>
                <dd className="error-text">{status.lastError.message}</dd>
              </>
            ) : null}
          </dl>
          <RejectedRows userId={userId} count={status.rejectedCount} />
          <button
            type="button"
            onClick={() => {
              replicaFor(userId)
                .client.then((c) => c.sync())
                .catch(() => undefined);
            }}
          >
            Sync now
          </button>
        </div>
      ) : null}
    </div>
  );
}

function RejectedRows({ userId, count }: { userId: string; count: number }) {
  const [rows, setRows] = useState<RejectedRow<typeof config>[]>([]);
  useEffect(() => {
    if (count === 0) {
      setRows([]);
      return;
    }
    let live = true;
    replicaFor(userId)
      .client.then((c) => c.rejected())
      .then((r) => live && setRows(r))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [userId, count]);
  if (rows.length === 0) return null;
  return (
    <div className="rejected">
      <p>
        <strong>Refused by the server</strong> (kept here, not uploaded again):
      </p>
      <ul>
        {rows.map((row) => (
          <li key={`${row.table}:${row.id}`}>
            <code>{row.code}</code> {row.message}{' '}
            <button
              type="button"
              className="link"
              onClick={() => {
                replicaFor(userId)
                  .client.then((c) => c.discard(row.id).then(() => c.sync()))
                  .catch(() => undefined);
              }}
            >
              Revert
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
