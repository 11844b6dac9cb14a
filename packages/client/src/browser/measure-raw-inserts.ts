// Benchmark hook (not exported by the package; the bench and the browser tests
// import this file): the raw floor a download into the replica is compared with.
import { SqliteDriverError, type SqliteValue } from '../driver/sqlite-driver.ts';
import { type OpfsDriver, sharedDatabaseOf } from './opfs-driver.ts';
import type { RawInsertSource } from './worker-protocol.ts';

/**
 * Inserts `rows` with `sql` (one `?` per value) through the
 * bare wa-sqlite API inside the driver's worker, one prepared statement in
 * one transaction, and resolves to the milliseconds measured there. Given
 * `{ select }` instead of rows, the worker reads them itself first, untimed
 * (a million rows need not cross to the page and back). It is the
 * floor a download into the replica is compared with. Holds the driver's
 * lock while it runs; in a tab that does not own the database, the owner's
 * worker runs it.
 *
 * @example
 * ```ts
 * await driver.execute('CREATE TABLE raw (id INTEGER PRIMARY KEY, name TEXT)');
 * const ms = await measureRawInserts(driver, 'INSERT INTO raw VALUES (?, ?)', [[1, 'a'], [2, 'b']]);
 * const copy = await measureRawInserts(driver, 'INSERT INTO raw2 VALUES (?, ?)', { select: 'SELECT * FROM raw' });
 * ```
 */
export function measureRawInserts(
  driver: OpfsDriver,
  sql: string,
  rows: readonly (readonly SqliteValue[])[] | { readonly select: string },
): Promise<number> {
  const database = sharedDatabaseOf(driver);
  if (!database) {
    return Promise.reject(
      new SqliteDriverError(
        'invalid_parameter',
        'measureRawInserts: pass a driver made by opfsDriver().',
      ),
    );
  }
  const source: RawInsertSource = 'select' in rows ? { select: rows.select } : { rows };
  return database.run('rawInsert', { sql, ...source });
}
