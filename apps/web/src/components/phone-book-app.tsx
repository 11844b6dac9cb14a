'use client';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
import { CarburetorProvider, type PhoneBookClient, replicaFor } from '../client/carburetor.ts';
import { appTrpcClient, trpc } from '../client/trpc.ts';
import { PhoneBook } from './phone-book.tsx';

/**
 * The signed-in app: the tRPC and TanStack providers every tRPC app has, and
 * Carburetor's provider with this user's replica. Rendered on the server
 * too: there the replica is `null` and the hooks report loading.
 */
export function PhoneBookApp({ userId }: { userId: string }) {
  const [queryClient] = useState(() => new QueryClient());
  const [trpcClient] = useState(appTrpcClient);
  const [client] = useState<Promise<PhoneBookClient> | null>(() =>
    typeof window === 'undefined' ? null : replicaFor(userId).client,
  );
  return (
    <trpc.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <CarburetorProvider client={client} queryClient={queryClient}>
          <PhoneBook userId={userId} />
        </CarburetorProvider>
      </QueryClientProvider>
    </trpc.Provider>
  );
}
