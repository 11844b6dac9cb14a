// Benchmark hook, the worker's side (not exported by the package): the floor
// that measureRawInserts (measure-raw-inserts.ts) compares a download with.
import * as SQLite from '@journeyapps/wa-sqlite';
import { sqliteError, type WaSqlite } from '../driver/wa-sqlite-runner.ts';
import type { RawInsertSource, WorkerOps } from './worker-protocol.ts';

/** The rows to insert: as sent, or read by `select` (before the clock starts). */
async function rowsOf({ sqlite3 }: WaSqlite, db: number, source: RawInsertSource) {
  if ('rows' in source) return source.rows;
  const rows: SQLiteCompatibleType[][] = [];
  for await (const stmt of sqlite3.statements(db, source.select)) {
    while ((await sqlite3.step(stmt)) === SQLite.SQLITE_ROW) rows.push(sqlite3.row(stmt));
  }
  return rows;
}

/**
 * Runs `sql` once per row with the bare wa-sqlite API (one prepared
 * statement, one transaction, no results); answers the milliseconds it took.
 */
export async function rawInsert(
  api: WaSqlite,
  db: number,
  args: WorkerOps['rawInsert']['args'],
): Promise<number> {
  const { sqlite3 } = api;
  const { sql } = args;
  const rows = await rowsOf(api, db, args);
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
