import { type QueryExecutorProvider, sql } from 'kysely';
import type { IncomingRecord } from './merge-sql.ts';
import type { RawRow } from './resolved-rows.ts';

/**
 * SQLSTATE classes of a database that refuses a row's values rather than the
 * request: 22 data exception (a value out of range, an invalid date), 23
 * integrity constraint violation (the app's own CHECK, foreign key, unique
 * index), 54 program limit exceeded (a value too big for an index the app
 * added), and P0001, an app trigger's RAISE EXCEPTION.
 */
export function isRowRefusal(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^(22|23|54)/.test(code) || code === 'P0001');
}

/** A refused row's id and the database's own words. */
export type Refusals = Map<string, string>;

const SAVEPOINT = sql.raw('_carburetor_rows');

/**
 * Writes records with one statement, as `write` does, but never lets one
 * refused row fail the others: under a savepoint, a failing batch is rolled
 * back and split in halves until every refused record is found alone. Its
 * id and the database's message go to `refused`; the rest is written.
 *
 * Costs a savepoint per batch and per split, so the upload uses it only to
 * retry a request whose plain attempt failed with a row refusal.
 */
export async function writeAllowingRefusals(
  db: QueryExecutorProvider,
  records: readonly IncomingRecord[],
  write: (records: readonly IncomingRecord[]) => Promise<RawRow[]>,
  refused: Refusals,
): Promise<RawRow[]> {
  if (records.length === 0) return [];
  await sql`savepoint ${SAVEPOINT}`.execute(db);
  try {
    const rows = await write(records);
    await sql`release savepoint ${SAVEPOINT}`.execute(db);
    return rows;
  } catch (error) {
    if (!isRowRefusal(error)) throw error;
    await sql`rollback to savepoint ${SAVEPOINT}`.execute(db);
    await sql`release savepoint ${SAVEPOINT}`.execute(db);
    if (records.length === 1) {
      refused.set(records[0]!.id, error.message);
      return [];
    }
    const half = Math.ceil(records.length / 2);
    return [
      ...(await writeAllowingRefusals(db, records.slice(0, half), write, refused)),
      ...(await writeAllowingRefusals(db, records.slice(half), write, refused)),
    ];
  }
}
