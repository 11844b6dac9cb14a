import { NOT_STARTED_STATUS, type SyncStatus } from '@carburetor/client';
import { useCallback, useSyncExternalStore } from 'react';
import { type BindingContext, useBinding } from './carburetor-provider.tsx';

function notStarted(): SyncStatus {
  return NOT_STARTED_STATUS;
}

/** `useSyncStatus()`: `client.status` through `useSyncExternalStore`. */
export function useSyncStatus(context: BindingContext): SyncStatus {
  const { client } = useBinding(context, 'useSyncStatus');
  const subscribe = useCallback(
    (onChange: () => void) => (client ? client.subscribe(onChange) : () => undefined),
    [client],
  );
  const snapshot = useCallback(() => client?.status ?? NOT_STARTED_STATUS, [client]);
  return useSyncExternalStore(subscribe, snapshot, notStarted);
}
