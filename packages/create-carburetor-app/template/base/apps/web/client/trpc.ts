import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import type { AppRouter } from '../server/router';

function create() {
  const url = '/api/trpc';
  return createTRPCClient<AppRouter>({
    links: [
      // Subscriptions (the sync groups' realtime pokes) over SSE, everything else batched.
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url }),
        false: httpBatchLink({ url }),
      }),
    ],
  });
}

let client: ReturnType<typeof create> | undefined;

/** The page's one tRPC client, shared by your calls and the sync client. Browser only. */
export function trpcClient(): ReturnType<typeof create> {
  client ??= create();
  return client;
}
