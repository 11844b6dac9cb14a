import type { AnySyncConfig } from '@carburetor/core';
import type { Kysely } from 'kysely';
import type { ChangeListener } from '../sync/change-emitter.ts';
import { type LiveOptions, LiveQuery, type LiveSource } from './live-query.ts';
import { tablesBySqlName } from './query-tables.ts';

/**
 * A client's `live(query, options?)`: live queries over its replica `db`,
 * refreshed by its change events.
 *
 * @example
 * ```ts
 * const live = createLive(config, db, (listener) => client.onChange(listener));
 * const contacts = live(db.selectFrom('phone_books').selectAll());
 * ```
 */
export function createLive(
  config: AnySyncConfig,
  // biome-ignore lint/suspicious/noExplicitAny: any database type; only its executor is used.
  db: Kysely<any>,
  onChange: (listener: ChangeListener) => () => void,
): <R>(query: LiveSource<R>, options?: LiveOptions) => LiveQuery<R> {
  const context = { executor: db.getExecutor(), bySqlName: tablesBySqlName(config), onChange };
  return (query, options) => new LiveQuery(query, options, context);
}
