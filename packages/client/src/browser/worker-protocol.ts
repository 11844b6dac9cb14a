import type { SqliteDriverErrorCode, SqliteValue } from '../driver/sqlite-driver.ts';
import type { SqliteArrayResult } from '../driver/wa-sqlite-runner.ts';

/**
 * Where a browser replica keeps its data: `'opfs'` (the Origin Private File
 * System, the default), `'indexeddb'` (the fallback that also survives
 * reloads) or `'memory'` (the fallback lost on reload).
 */
export type OpfsStorage = 'opfs' | 'indexeddb' | 'memory';

/** Where the replica goes when OPFS is unavailable (see `opfsDriver`'s `fallback`). */
export type OpfsFallback = 'indexeddb' | 'memory';

/**
 * The operations the worker answers, with what each takes and gives back.
 * Rows travel as arrays of values beside one list of column names, and a
 * batch sends each distinct SQL string once: structured clone copies every
 * key of every object, so objects would cost about twice as much.
 */
export interface WorkerOps {
  open: {
    args: { readonly name: string; readonly fallback: OpfsFallback | undefined };
    result: OpfsStorage;
  };
  execute: {
    args: { readonly sql: string; readonly params: readonly SqliteValue[] };
    result: SqliteArrayResult;
  };
  batch: {
    args: {
      /** Distinct SQL strings of the batch. */
      readonly sqls: readonly string[];
      /** Per statement, its SQL's index in `sqls`. */
      readonly which: readonly number[];
      /** Per statement, its parameters. */
      readonly params: readonly (readonly SqliteValue[])[];
      readonly transaction: boolean;
    };
    result: SqliteArrayResult[];
  };
  close: { args: Record<string, never>; result: null };
  /**
   * Benchmark hook: runs `sql` once per row of `rows` (or of what `select`
   * reads, untimed, inside the worker) with the bare wa-sqlite API (one
   * prepared statement, one transaction, no results) and answers the
   * milliseconds it took inside the worker (raw-insert-op.ts). Only
   * measure-raw-inserts.ts sends it; no driver method does.
   */
  rawInsert: {
    args: { readonly sql: string } & RawInsertSource;
    result: number;
  };
}

/** The rows of a raw insert: sent from the page, or read in the worker (a million rows need not cross). */
export type RawInsertSource =
  | { readonly rows: readonly (readonly SqliteValue[])[] }
  | { readonly select: string };

export type WorkerOp = keyof WorkerOps;

/** A message from the page to the worker. `id` pairs it with its answer. */
export type WorkerRequest = {
  [K in WorkerOp]: { readonly id: number; readonly op: K } & WorkerOps[K]['args'];
}[WorkerOp];

/** A failure, as plain data; the page rethrows it as a `SqliteDriverError`. */
export interface WireError {
  readonly code: SqliteDriverErrorCode;
  readonly message: string;
  readonly sqliteCode?: number;
  readonly statementIndex?: number;
}

/** A message from the worker to the page: the answer to request `id`. */
export type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly result: WorkerOps[WorkerOp]['result'] }
  | { readonly id: number; readonly ok: false; readonly error: WireError };
