'use client';

import { useQuery } from '@tanstack/react-query';
import { trpcClient } from '../client/trpc';

/** The app's own procedure, called through the tRPC client the sync client shares. */
export function Whoami() {
  const whoami = useQuery({ queryKey: ['whoami'], queryFn: () => trpcClient().whoami.query() });
  return (
    <p>
      The server knows you as <span data-testid="whoami">{whoami.data?.userId ?? '…'}</span>.
    </p>
  );
}
