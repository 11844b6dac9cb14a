import type { SqliteDriver, SqliteValue } from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';

/** What `client.queryReadOnly()` returns. */
export interface ReadOnlyResult {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, SqliteValue>[];
  /** More rows matched than {@link READ_ONLY_ROW_LIMIT}: only the first ones are here. */
  readonly truncated: boolean;
}

/** Rows a read-only query returns at most. */
export const READ_ONLY_ROW_LIMIT = 1_000;

/**
 * Runs one SELECT (or WITH … SELECT) on the replica, read-only by
 * construction: the text becomes a subquery (`SELECT * FROM (<sql>)`), where
 * SQLite accepts neither a second statement nor a write, and it runs with
 * `PRAGMA query_only` on, in an exclusive section of the connection (no other
 * statement of this or another tab runs in between).
 */
export async function queryReadOnly(
  driver: SqliteDriver,
  sql: string,
  params: readonly SqliteValue[] = [],
): Promise<ReadOnlyResult> {
  const text = sql.trim().replace(/;\s*$/, '');
  if (text === '') {
    throw new CarburetorClientError('invalid_query', 'queryReadOnly: the query is empty.');
  }
  // Newlines: a trailing `-- comment` must not swallow the closing parenthesis.
  const wrapped = `SELECT * FROM (\n${text}\n) LIMIT ${READ_ONLY_ROW_LIMIT + 1}`;
  return driver.exclusive(async (ex) => {
    await ex.execute('PRAGMA query_only = 1');
    try {
      const result = await ex.execute(wrapped, params);
      return {
        columns: result.columns,
        rows: result.rows.slice(0, READ_ONLY_ROW_LIMIT),
        truncated: result.rows.length > READ_ONLY_ROW_LIMIT,
      };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new CarburetorClientError(
        'invalid_query',
        `queryReadOnly runs one SELECT (or WITH … SELECT) and nothing else: ${reason}`,
        { cause },
      );
    } finally {
      await ex.execute('PRAGMA query_only = 0');
    }
  });
}
