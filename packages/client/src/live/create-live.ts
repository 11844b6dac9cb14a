import type { AnySyncConfig } from '@carburetor/core';
import type { Kysely } from 'kysely';
import type { ChangeListener } from '../sync/change-emitter.ts';
import { type LiveOptions, LiveQuery, type LiveSource } from './live-query.ts';
import { tablesBySqlName } from './query-tables.ts';

/** A client's live queries: `live(query, options?)` makes one; `closeAll()` when the client closes. */
export interface ClientLive {
  live<R>(query: LiveSource<R>, options?: LiveOptions): LiveQuery<R>;
  closeAll(): void;
}

/**
 * A client's live queries over its replica `db`, refreshed by its change
 * events, all closed with the client.
 *
 * @example
 * ```ts
 * const { live } = createLive(config, db, (listener) => client.onChange(listener));
 * const contacts = live(db.selectFrom('phone_books').selectAll());
 * ```
 */
export function createLive(
  config: AnySyncConfig,
  // biome-ignore lint/suspicious/noExplicitAny: any database type; only its executor is used.
  db: Kysely<any>,
  onChange: (listener: ChangeListener) => () => void,
): ClientLive {
  const open = new Set<LiveQuery<unknown>>();
  const context = {
    executor: db.getExecutor(),
    bySqlName: tablesBySqlName(config),
    onChange,
    closed: (query: LiveQuery<unknown>) => open.delete(query),
  };
  return {
    live: <R>(query: LiveSource<R>, options?: LiveOptions) => {
      const created = new LiveQuery(query, options, context);
      open.add(created as LiveQuery<unknown>);
      return created;
    },
    closeAll: () => {
      for (const query of [...open]) query.close();
    },
  };
}
