'use client';

import { CarburetorDevtools } from '@carburetor/react/devtools';
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
          <InspectorToggle client={client} />
        </CarburetorProvider>
      </QueryClientProvider>
    </trpc.Provider>
  );
}

/** The inspector, behind a toggle under the page (`@carburetor/react/devtools`). */
function InspectorToggle({ client }: { client: Promise<PhoneBookClient> | null }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="footer muted small">
      <button type="button" className="link" onClick={() => setOpen(!open)}>
        {open ? 'Close the inspector' : 'Open the inspector'}
      </button>
      {open ? (
        <CarburetorDevtools client={client} initialIsOpen onClose={() => setOpen(false)} />
      ) : null}
    </div>
  );
}
