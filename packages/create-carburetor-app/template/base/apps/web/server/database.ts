import type { ListenTarget } from '@carburetor/server';
import type { Kysely } from 'kysely';
import { openDatabase } from './open-database';

/** The server database, opened and migrated once per process. */
export interface ServerDatabase {
  // biome-ignore lint/suspicious/noExplicitAny: the sync tables are reached through Carburetor
  readonly db: Kysely<any>;
  /**
   * Where the realtime pokes LISTEN, said explicitly: Next bundles
   * instrumentation.ts and the route apart, each with its own copy of
   * @carburetor/server.
   */
  readonly listen: ListenTarget;
}

const KEY = Symbol.for('app.database');
type Holder = { [KEY]?: Promise<ServerDatabase> };

/**
 * The one database of this server process, on `globalThis` so hot reloads
 * and every route share it. First called from instrumentation.ts.
 */
export function serverDatabase(): Promise<ServerDatabase> {
  const holder = globalThis as Holder;
  holder[KEY] ??= openDatabase();
  const database = holder[KEY];
  // A failed open is retried by the next caller rather than kept.
  database.catch(() => {
    if (holder[KEY] === database) delete holder[KEY];
  });
  return database;
}
