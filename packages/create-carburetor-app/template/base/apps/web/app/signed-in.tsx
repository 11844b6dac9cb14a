'use client';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { CarburetorProvider } from '../client/hooks';
import { type AppSyncClient, closeReplica, replicaOf } from '../client/replica';
import { signOut } from './actions';
import { Home } from './home';
import { SyncStatus } from './sync-status';
import { Whoami } from './whoami';

const queryClient = new QueryClient();

/** The signed-in page: the user's replica opened, then the hooks below the provider. */
export function SignedIn({ userId }: { userId: string }) {
  const [client, setClient] = useState<AppSyncClient>();
  useEffect(() => {
    replicaOf(userId).then(setClient);
  }, [userId]);
  if (!client) return <p>Opening your replica…</p>;
  return (
    <QueryClientProvider client={queryClient}>
      <CarburetorProvider client={client}>
        <header>
          <h1>Signed in as {userId}</h1>
          <button
            type="button"
            onClick={async () => {
              await closeReplica(userId); // uploads what it can, then wipes this user's replica
              await signOut();
            }}
          >
            Sign out
          </button>
        </header>
        <SyncStatus />
        <Whoami />
        <Home userId={userId} />
      </CarburetorProvider>
    </QueryClientProvider>
  );
}
