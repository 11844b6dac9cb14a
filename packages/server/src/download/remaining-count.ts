import { MAX_REMAINING_COUNT, type RemainingEstimate } from '@carburetor/core';
import { type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * The entries a page's query has left to send from its start (this page's
 * included), in the caller's scope: the same conditions as the page, so
 * another user's rows never count (a table-wide figure such as `reltuples`
 * would tell one user how many rows others have). Counting stops past
 * `cap` rows (MAX_REMAINING_COUNT), so it reads at most `cap + 1` entries
 * of the scope's (restriction, xid, id) index: exactly `cap` left is an
 * exact count, more is `atLeast`.
 */
export async function countRemaining(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
  sqlName: string,
  where: readonly RawBuilder<unknown>[],
  cap: number = MAX_REMAINING_COUNT,
): Promise<RemainingEstimate> {
  const result = await sql<{ n: string }>`
    select count(*)::text as n from (
      select 1 from ${sql.table(sqlName)}
      ${where.length > 0 ? sql`where ${sql.join(where, sql` and `)}` : sql``}
      limit ${sql.lit(cap + 1)}
    ) as scope`.execute(trx);
  const counted = Number(result.rows[0]!.n);
  return { rows: Math.min(counted, cap), atLeast: counted > cap };
}
