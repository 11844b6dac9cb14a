import type { IncomingMessage } from 'node:http';
import { createSyncRouter } from '@carburetor/server';
import { initTRPC, TRPCError } from '@trpc/server';
import { config } from '../src/sync-config.ts';
import { db } from './database.ts';

const t = initTRPC.context<{ userId: string | undefined }>().create();
const authed = t.procedure.use(({ ctx, next }) => {
  if (!ctx.userId) throw new TRPCError({ code: 'UNAUTHORIZED' });
  return next({ ctx });
});

export const appRouter = t.router({
  sync: createSyncRouter(config, {
    db,
    procedure: authed, // your auth middleware runs first
    context: (ctx) => ({ userId: ctx.userId }), // the values restrictTo reads
  }),
});
export type AppRouter = typeof appRouter;

/** This app's "auth": the signed-in user is the `user` cookie. */
export function contextOf(req: IncomingMessage): { userId: string | undefined } {
  return { userId: /(?:^|;\s*)user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] };
}
