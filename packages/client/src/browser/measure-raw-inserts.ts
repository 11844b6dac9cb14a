// Benchmark hook (not exported by the package; the bench and the browser tests
// import this file): the raw floor a download into the replica is compared with.
import { SqliteDriverError, type SqliteValue } from '../driver/sqlite-driver.ts';
import { type OpfsDriver, sharedDatabaseOf } from './opfs-driver.ts';

/**
 * Inserts `rows` with `sql` (one `?` per value) through the
 * bare wa-sqlite API inside the driver's worker, one prepared statement in
 * one transaction, and resolves to the milliseconds measured there. It is the
 * floor a download into the replica is compared with. Holds the driver's
 * lock while it runs; in a tab that does not own the database, the owner's
 * worker runs it.
 *
 * @example
 * ```ts
 * await driver.execute('CREATE TABLE raw (id INTEGER PRIMARY KEY, name TEXT)');
 * const ms = await measureRawInserts(driver, 'INSERT INTO raw VALUES (?, ?)', [[1, 'a'], [2, 'b']]);
 * ```
 */
export function measureRawInserts(
  driver: OpfsDriver,
  sql: string,
  rows: readonly (readonly SqliteValue[])[],
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
  return database.run('rawInsert', { sql, rows });
}
