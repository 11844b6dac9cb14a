import type { ClientErrorCode } from '../errors.ts';
import type { DownloadProgress } from './download-progress.ts';
/**
 * What the sync engine is doing, as one frozen snapshot (`client.status`).
 * A new object is made only when something changed, so
 * `useSyncExternalStore` can compare snapshots by identity. `lastError` is
 * cleared by the next sync that succeeds: it says whether the latest sync
 * failed, not whether one ever did.
 *
 * @example
 * ```ts
 * const status = useSyncExternalStore(client.subscribe, () => client.status);
 * const label = !status.online ? 'offline'
 *   : status.lastError ? `retrying: ${status.lastError.message}`
 *   : status.pendingCount > 0 ? `${status.pendingCount} to upload` : 'saved';
 * ```
 */
export interface SyncStatus {
  /** What the client's online manager says. */
  readonly online: boolean;
  /** The step of the sync in progress (`idle` between syncs). */
  readonly phase: 'idle' | 'uploading' | 'downloading';
  /** Rows with local changes the server has not acknowledged yet (rejected rows excluded). */
  readonly pendingCount: number;
  /** Entries (rows, tombstones, out-of-scope ids) downloaded by the current or last sync. */
  readonly downloadedInSync: number;
  /** When the last sync that succeeded ended (ISO 8601), or null. */
  readonly lastSyncedAt: string | null;
  /**
   * Every group of the client has been downloaded to its end at least once,
   * in this session or an earlier one of the same replica (`reset()` clears
   * it): the replica holds a complete copy, if not the newest.
   */
  readonly hasSynced: boolean;
  /**
   * The first downloads under way, one entry per (group, table): entries
   * applied and expected (counted by the server in the caller's scope).
   * An entry stays, `complete`, until the next sync starts; a first
   * download cut by a reload goes on from where its last page left it.
   * Empty when no first download ran in the current or last sync (sum the
   * entries with `totalProgress` for one bar).
   */
  readonly progress: readonly DownloadProgress[];
  /**
   * Why the last sync failed, or null once a sync succeeds. `code` is the
   * error's when Carburetor raised it (`sync_not_found`: a setup mistake the
   * message names the fix of; `sync_failed`: retried), else undefined.
   */
  readonly lastError: Readonly<{
    message: string;
    at: string;
    code: ClientErrorCode | undefined;
  }> | null;
  /** Rows the server refused, as `client.rejected()` lists them. */
  readonly rejectedCount: number;
  /** Whether the background loop is started (`client.start()`). */
  readonly running: boolean;
  /**
   * Whether realtime is connected: every group's `changes` subscription is
   * open and answered, so changes on the server arrive within moments.
   * False while stopped, offline, in a tab that does not lead, while a
   * subscription reconnects, and with `realtime: false`.
   */
  readonly live: boolean;
}

/**
 * The status before a client exists (and on the server, under SSR), and the
 * base every client's first status is made from.
 *
 * @example
 * ```ts
 * if (status === NOT_STARTED_STATUS) return <Spinner />;
 * ```
 */
export const NOT_STARTED_STATUS: SyncStatus = Object.freeze({
  online: true,
  phase: 'idle',
  pendingCount: 0,
  downloadedInSync: 0,
  lastSyncedAt: null,
  hasSynced: false,
  progress: Object.freeze([]),
  lastError: null,
  rejectedCount: 0,
  running: false,
  live: false,
});

/**
 * Called after every change of the status, with the new snapshot.
 *
 * @example
 * ```ts
 * const listener: SyncStatusListener = (s) => console.log(s.phase, s.pendingCount);
 * const unsubscribe = client.subscribe(listener);
 * ```
 */
export type SyncStatusListener = (status: SyncStatus) => void;

/** Holds the status snapshot and notifies on change. */
export class SyncStatusStore {
  #status: SyncStatus;
  #listeners = new Set<SyncStatusListener>();

  constructor(initial: SyncStatus) {
    this.#status = Object.freeze({ ...initial });
  }

  get current(): SyncStatus {
    return this.#status;
  }

  /** Applies the patch; a new snapshot and a notification only if a field changed. */
  update(patch: Partial<SyncStatus>): void {
    const current = this.#status as unknown as Record<string, unknown>;
    const changed = Object.entries(patch).some(([key, value]) => !Object.is(current[key], value));
    if (!changed) return;
    this.#status = Object.freeze({ ...this.#status, ...patch });
    const status = this.#status;
    for (const listener of [...this.#listeners]) {
      try {
        listener(status);
      } catch (error) {
        console.error('Carburetor: a status listener threw', error);
      }
    }
  }

  subscribe(listener: SyncStatusListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
