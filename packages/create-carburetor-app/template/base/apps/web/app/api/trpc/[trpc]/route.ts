import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '../../../../server/router';
import { contextOf } from '../../../../server/session';

export const dynamic = 'force-dynamic'; // realtime streams over SSE

const handler = async (req: Request) =>
  fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: await appRouter(),
    createContext: () => contextOf(req),
  });

export { handler as GET, handler as POST };
