import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as SQLite from '@journeyapps/wa-sqlite';
import SQLiteESMFactory from '@journeyapps/wa-sqlite/dist/wa-sqlite.mjs';
import { expect, test } from 'vitest';
import type { SqliteStatement } from '../driver/sqlite-driver.ts';
import { memoryDriver } from '../node/index.ts';
import { MemoryImageVFS, type WasmHeap } from '../node/memory-vfs.ts';

// A timing print for orientation, not an assertion: 100k prepared inserts in
// one transaction, through the driver and through the raw wa-sqlite API (same
// VFS), each after a 10k warm-up so neither pays the JIT alone.
const ROWS = 100_000;
const CREATE = 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)';
const INSERT = 'INSERT INTO t VALUES (?, ?, ?)';

function rows(count: number): SqliteStatement[] {
  return Array.from({ length: count }, (_, i) => ({
    sql: INSERT,
    params: [i, `name ${i}`, i * 0.5],
  }));
}

async function timeRaw(count: number): Promise<number> {
  const require = createRequire(import.meta.url);
  const wasmBinary = await readFile(require.resolve('@journeyapps/wa-sqlite/dist/wa-sqlite.wasm'));
  const module = (await SQLiteESMFactory({ wasmBinary })) as WasmHeap;
  const sqlite3 = SQLite.Factory(module);
  const vfs = new MemoryImageVFS(`timing-raw-${count}`, module);
  sqlite3.vfs_register(vfs, false);
  const db = await sqlite3.open_v2(`/timing-raw-${count}`, undefined, vfs.name);
  await sqlite3.exec(db, CREATE);
  const start = performance.now();
  await sqlite3.exec(db, 'BEGIN');
  for await (const stmt of sqlite3.statements(db, INSERT)) {
    for (let i = 0; i < count; i++) {
      sqlite3.bind_collection(stmt, [i, `name ${i}`, i * 0.5]);
      await sqlite3.step(stmt);
      await sqlite3.reset(stmt);
    }
  }
  await sqlite3.exec(db, 'COMMIT');
  const elapsed = performance.now() - start;
  await sqlite3.close(db);
  return elapsed;
}

async function timeDriver(count: number, mode: 'batch' | 'one-by-one'): Promise<number> {
  const driver = memoryDriver();
  await driver.execute(CREATE);
  const statements = rows(count);
  const start = performance.now();
  if (mode === 'batch') {
    await driver.executeBatch(statements, { transaction: true });
  } else {
    await driver.exclusive(async (tx) => {
      await tx.execute('BEGIN');
      for (const { sql, params } of statements) await tx.execute(sql, params);
      await tx.execute('COMMIT');
    });
  }
  const elapsed = performance.now() - start;
  const { rows: counted } = await driver.execute('SELECT count(*) AS n FROM t');
  expect(counted[0]?.['n']).toBe(count);
  await driver.close();
  return elapsed;
}

test('100k inserts in one transaction: driver vs raw wa-sqlite', { timeout: 60_000 }, async () => {
  await timeRaw(10_000);
  await timeDriver(10_000, 'batch');
  await timeDriver(10_000, 'one-by-one');
  const raw = await timeRaw(ROWS);
  const batch = await timeDriver(ROWS, 'batch');
  const oneByOne = await timeDriver(ROWS, 'one-by-one');
  console.log(
    `100k inserts, one transaction: raw wa-sqlite ${raw.toFixed(0)} ms; ` +
      `driver executeBatch ${batch.toFixed(0)} ms (${(batch / raw).toFixed(2)}x raw); ` +
      `driver.execute x100k in exclusive() ${oneByOne.toFixed(0)} ms (${(oneByOne / raw).toFixed(2)}x raw)`,
  );
});
