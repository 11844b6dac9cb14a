import type {
  SqliteBatchOptions,
  SqliteExecutor,
  SqliteStatement,
  SqliteValue,
} from '../driver/sqlite-driver.ts';
import { toSqliteResult } from '../driver/wa-sqlite-runner.ts';
import type { RelayOp } from './tab-protocol.ts';
import type { WorkerOps } from './worker-protocol.ts';

/** Packs a batch for the worker: each distinct SQL string once. */
export function packBatch(
  statements: readonly SqliteStatement[],
  options: SqliteBatchOptions,
): WorkerOps['batch']['args'] {
  const sqls: string[] = [];
  const indexBySql = new Map<string, number>();
  const which: number[] = [];
  const params: (readonly SqliteValue[])[] = [];
  for (const { sql, params: values } of statements) {
    let index = indexBySql.get(sql);
    if (index === undefined) {
      index = sqls.push(sql) - 1;
      indexBySql.set(sql, index);
    }
    which.push(index);
    params.push(values ?? []);
  }
  return { sqls, which, params, transaction: options.transaction ?? false };
}

/** Sends one worker operation: to this tab's worker, or through the owning tab. */
export type SendOp = <K extends RelayOp>(
  op: K,
  args: WorkerOps[K]['args'],
) => Promise<WorkerOps[K]['result']>;

/** The driver's executor over worker operations, wherever they run. */
export function executorOver(send: SendOp): SqliteExecutor {
  return {
    execute: async (sql, params = []) => toSqliteResult(await send('execute', { sql, params })),
    executeBatch: async (statements, options = {}) =>
      (await send('batch', packBatch(statements, options))).map(toSqliteResult),
  };
}
