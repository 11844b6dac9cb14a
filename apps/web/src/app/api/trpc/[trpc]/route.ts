import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '../../../../server/app-router.ts';
import { createContext } from '../../../../server/trpc.ts';

// Realtime pokes stream over SSE: never cache, never prerender.
export const dynamic = 'force-dynamic';

async function handler(req: Request): Promise<Response> {
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: await appRouter(),
    createContext: () => createContext(req),
  });
}

// GET carries queries and the `changes` subscriptions (SSE), POST the mutations.
export { handler as GET, handler as POST };
