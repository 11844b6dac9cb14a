import { type DownloadProgress, type ProgressTotals, totalProgress } from '@carburetor/client';
import { useMemo } from 'react';
import type { BindingContext } from './carburetor-provider.tsx';
import { useSyncStatus } from './use-sync-status.ts';

/**
 * What `useSyncProgress()` returns: whether the replica holds a complete
 * copy, and how far the first downloads under way have come, summed for one
 * bar (`fraction`) and per (group, table) (`tables`).
 *
 * @example
 * ```tsx
 * const { downloading, fraction, done } = useSyncProgress();
 * // fraction is null while the server's count is only a floor: an indeterminate bar.
 * if (downloading) return <progress value={fraction ?? undefined}>{done} rows</progress>;
 * ```
 */
export interface SyncProgress extends ProgressTotals {
  /** `status.hasSynced`: every group has been downloaded to its end once. */
  readonly hasSynced: boolean;
  /** `status.progress`: one entry per (group, table) in a first download. */
  readonly tables: readonly DownloadProgress[];
}

/** `useSyncProgress()`: `client.status`'s first-sync fields, summed; a new object only when they change. */
export function useSyncProgress(context: BindingContext): SyncProgress {
  const { hasSynced, progress } = useSyncStatus(context);
  return useMemo(
    () => Object.freeze({ hasSynced, tables: progress, ...totalProgress(progress) }),
    [hasSynced, progress],
  );
}
