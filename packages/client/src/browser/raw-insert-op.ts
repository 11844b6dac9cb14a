// Benchmark hook, the worker's side (not exported by the package): the floor
// that measureRawInserts (measure-raw-inserts.ts) compares a download with.
import { sqliteError, type WaSqlite } from '../driver/wa-sqlite-runner.ts';
import type { WorkerOps } from './worker-protocol.ts';

/**
 * Runs `sql` once per row of `rows` with the bare wa-sqlite API (one prepared
 * statement, one transaction, no results); answers the milliseconds it took.
 */
export async function rawInsert(
  { sqlite3 }: WaSqlite,
  db: number,
  { sql, rows }: WorkerOps['rawInsert']['args'],
): Promise<number> {
  const start = performance.now();
  await sqlite3.exec(db, 'BEGIN');
  try {
    for await (const stmt of sqlite3.statements(db, sql)) {
      for (const row of rows) {
        sqlite3.bind_collection(stmt, row as SQLiteCompatibleType[]);
        await sqlite3.step(stmt);
        await sqlite3.reset(stmt);
      }
    }
    await sqlite3.exec(db, 'COMMIT');
  } catch (error) {
    await sqlite3.exec(db, 'ROLLBACK').catch(() => undefined);
    throw sqliteError(error, sql, undefined);
  }
  return performance.now() - start;
}
