import type { Kysely, RawBuilder } from 'kysely';
import { databaseSourceOf } from './database-source.ts';

/**
 * A query's rows in chunks of at most `chunkSize`: streamed where the
 * dialect is one of Carburetor's (pg hands rows over as they arrive, so
 * PostgreSQL keeps producing while the caller works through a chunk),
 * read whole on any other Kysely.
 *
 * @example
 * ```ts
 * for await (const rows of rowChunks(trx, sql`select …`, 1000)) handle(rows);
 * ```
 */
export async function* rowChunks<R>(
  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  db: Kysely<any>,
  query: RawBuilder<R>,
  chunkSize: number,
): AsyncGenerator<readonly R[]> {
  if (databaseSourceOf(db) === undefined) {
    yield (await query.execute(db)).rows;
    return;
  }
  for await (const chunk of db.getExecutor().stream<R>(query.compile(db), chunkSize)) {
    yield chunk.rows;
  }
}
