import { config } from '@{{name}}/sync-config';
import { createSyncRouter } from '@carburetor/server';
import { initTRPC, TRPCError } from '@trpc/server';
import { type ServerDatabase, serverDatabase } from './database';
import type { Context } from './session';

const t = initTRPC.context<Context>().create();
const authed = t.procedure.use(({ ctx, next }) => {
  if (!ctx.userId) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  return next({ ctx: { userId: ctx.userId } });
});

/** Your procedures, and Carburetor's sync router mounted beside them at `sync`. */
function buildAppRouter({ db, listen }: ServerDatabase) {
  return t.router({
    /** An app procedure: who the server thinks you are. */
    whoami: t.procedure.query(({ ctx }) => ({ userId: ctx.userId ?? null })),
    sync: createSyncRouter(config, {
      db,
      procedure: authed, // your auth middleware runs first
      context: (ctx) => ({ userId: ctx.userId }), // the values restrictTo reads
      changes: { listen }, // realtime pokes
    }),
  });
}

export type AppRouter = ReturnType<typeof buildAppRouter>;

const KEY = Symbol.for('app.router');
type Holder = { [KEY]?: Promise<AppRouter> };

/**
 * The router, built once the database is open. Kept on `globalThis` beside
 * the database, so hot reloads do not open a second realtime listener.
 */
export function appRouter(): Promise<AppRouter> {
  const holder = globalThis as Holder;
  holder[KEY] ??= serverDatabase().then(buildAppRouter);
  const built = holder[KEY];
  built.catch(() => {
    if (holder[KEY] === built) delete holder[KEY];
  });
  return built;
}
