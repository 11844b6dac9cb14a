'use client';

import { createTRPCReact, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/react-query';
import type { AppRouter } from '../server/app-router.ts';

/** The app's tRPC hooks (`trpc.whoami.useQuery()`, `trpc.sync.<group>.changes.useSubscription()`). */
export const trpc = createTRPCReact<AppRouter>();

function baseUrl(): string {
  if (typeof window !== 'undefined') return '';
  return `http://127.0.0.1:${process.env['PORT'] ?? 3000}`;
}

function createAppTrpcClient() {
  const url = `${baseUrl()}/api/trpc`;
  return trpc.createClient({
    links: [
      // Subscriptions (the sync groups' realtime `changes`) over SSE, everything else batched.
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url }),
        false: httpBatchLink({ url }),
      }),
    ],
  });
}

export type AppTrpcClient = ReturnType<typeof createAppTrpcClient>;

let browserClient: AppTrpcClient | undefined;

/**
 * The page's one tRPC client: the React tree and the sync client share it
 * (links, cookies and auth are configured here, once).
 */
export function appTrpcClient(): AppTrpcClient {
  if (typeof window === 'undefined') return createAppTrpcClient();
  browserClient ??= createAppTrpcClient();
  return browserClient;
}
