import type { CursorInfo, PendingRow, RejectedRow, SyncActivity } from '@carburetor/client';
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { InspectedClient } from './inspected-client.ts';

/** What the panel shows, re-read after every change, status change and request. */
export interface Inspection {
  readonly pending: readonly PendingRow[];
  readonly rejected: readonly RejectedRow[];
  readonly cursors: readonly CursorInfo[];
  readonly activity: readonly SyncActivity[];
  readonly error: string | null;
}

const EMPTY: Inspection = { pending: [], rejected: [], cursors: [], activity: [], error: null };

/** The client's status, live. */
export function useInspectedStatus(client: InspectedClient) {
  return useSyncExternalStore(
    client.subscribe,
    () => client.status,
    () => client.status,
  );
}

/**
 * Reads the replica's queue, rejections and cursors, and the request log,
 * again whenever rows, the status or the log change (at most one read in
 * flight; a change meanwhile reads once more after it).
 */
export function useInspection(client: InspectedClient): { data: Inspection; refresh(): void } {
  const [data, setData] = useState<Inspection>(EMPTY);
  const [version, setVersion] = useState(0);
  const refresh = useCallback(() => setVersion((v) => v + 1), []);

  useEffect(() => {
    const stops = [client.onChange(refresh), client.subscribe(refresh), client.onActivity(refresh)];
    return () => {
      for (const stop of stops) stop();
    };
  }, [client, refresh]);

  useEffect(() => {
    let current = true;
    void version; // read again on every change
    Promise.all([client.pending(), client.rejected(), client.cursors()]).then(
      ([pending, rejected, cursors]) => {
        if (current) {
          setData({ pending, rejected, cursors, activity: client.recentActivity(), error: null });
        }
      },
      (error: unknown) => {
        if (current) setData((d) => ({ ...d, error: String((error as Error)?.message ?? error) }));
      },
    );
    return () => {
      current = false;
    };
  }, [client, version]);

  return { data, refresh };
}
