import { createSyncRouter } from '@carburetor/server';
import { sql } from 'kysely';
import { config } from '../sync-config.ts';
import { type ServerDatabase, serverDatabase } from './database.ts';
import { authedProcedure, publicProcedure, router } from './trpc.ts';

/**
 * The app's tRPC router: its own procedures, and Carburetor's sync router
 * mounted beside them at `sync` (the browser's sync client is told
 * `path: 'sync'`). One endpoint, one set of links, one auth middleware.
 */
function buildAppRouter({ db, kind, listen }: ServerDatabase) {
  return router({
    /** Who the server thinks you are, and what it stores contacts in. */
    whoami: publicProcedure.query(({ ctx }) => ({ userId: ctx.userId ?? null, database: kind })),
    /** A plain app query beside the sync procedures: the server's own count of contacts. */
    stats: authedProcedure.query(async () => {
      const result = await sql<{ published: number; total: number }>`
        select count(*) filter (where published and not is_deleted)::int as published,
               count(*) filter (where not is_deleted)::int as total
        from phone_books`.execute(db);
      return result.rows[0] ?? { published: 0, total: 0 };
    }),
    sync: createSyncRouter(config, {
      db,
      procedure: authedProcedure,
      context: (ctx) => ({ userId: ctx.userId }),
      changes: { listen },
    }),
  });
}

export type AppRouter = ReturnType<typeof buildAppRouter>;

const KEY = Symbol.for('carburetor.web.appRouter');
type Holder = { [KEY]?: Promise<AppRouter> };

/**
 * The router, built once the database is open. Lazy, so `next build` never
 * opens a database; kept on `globalThis` with the database, so the realtime
 * hub (one LISTEN per router) is not duplicated by hot reloads.
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
