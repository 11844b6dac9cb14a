import { initTRPC, TRPCError } from '@trpc/server';
import { userIdFromCookieHeader } from './session.ts';

/** What every procedure sees: the signed-in user, from the session cookie. */
export interface AppContext {
  userId: string | undefined;
}

export function createContext(req: Request): AppContext {
  return { userId: userIdFromCookieHeader(req.headers.get('cookie')) };
}

const t = initTRPC.context<AppContext>().create({
  // Keeps the realtime SSE streams alive through proxies that cut idle connections.
  sse: { ping: { enabled: true, intervalMs: 15_000 } },
});

export const router = t.router;
export const publicProcedure = t.procedure;

/** A procedure for signed-in users only: its context has a `userId` string. */
export const authedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.userId) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  }
  return next({ ctx: { userId: ctx.userId } });
});
