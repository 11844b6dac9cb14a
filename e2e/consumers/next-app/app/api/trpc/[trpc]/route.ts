import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter, contextOf } from '../../../../server/router';

export const dynamic = 'force-dynamic'; // realtime streams over SSE
const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: () => contextOf(req),
  });

export { handler as GET, handler as POST };
