// The dedicated module worker behind `opfsDriver`: one wa-sqlite connection,
// on OPFS through OPFSCoopSyncVFS (synchronous access handles exist only in
// workers), or on the fallback the app asked for (worker-storage.ts).
import * as SQLite from '@journeyapps/wa-sqlite';
import { SqliteDriverError, type SqliteStatement } from '../driver/sqlite-driver.ts';
import { sqliteError, type WaSqlite, WaSqliteRunner } from '../driver/wa-sqlite-runner.ts';
import { rawInsert } from './raw-insert-op.ts';
import type {
  OpfsStorage,
  WireError,
  WorkerOp,
  WorkerOps,
  WorkerRequest,
  WorkerResponse,
} from './worker-protocol.ts';
import { chooseStorage } from './worker-storage.ts';

/** The parts of DedicatedWorkerGlobalScope used here (the package compiles with the DOM lib). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
}

const scope = globalThis as unknown as WorkerScope;

interface Connection {
  readonly api: WaSqlite;
  readonly db: number;
  readonly runner: WaSqliteRunner;
  readonly storage: OpfsStorage;
}

let connection: Connection | undefined;
let closed = false;

async function open({ name, fallback }: WorkerOps['open']['args']): Promise<OpfsStorage> {
  if (connection) return connection.storage;
  if (closed) throw new SqliteDriverError('closed', 'This worker was closed.');
  const { storage, module, vfs } = await chooseStorage(name, fallback);
  const sqlite3 = SQLite.Factory(module);
  sqlite3.vfs_register(vfs, false);
  let db: number;
  try {
    db = await sqlite3.open_v2(
      `/carburetor/${name}.sqlite3`,
      SQLite.SQLITE_OPEN_CREATE | SQLite.SQLITE_OPEN_READWRITE,
      vfs.name,
    );
  } catch (error) {
    const base = sqliteError(error, 'open', undefined);
    throw new SqliteDriverError(
      'sqlite',
      `Could not open the replica "${name}" (${storage}): ${base.message}. Another tab or worker may hold the file without cooperating; close it and retry.`,
      { cause: error, ...(base.sqliteCode === undefined ? {} : { sqliteCode: base.sqliteCode }) },
    );
  }
  const api: WaSqlite = { module, sqlite3 };
  const runner = new WaSqliteRunner(api, db);
  await runner.run('PRAGMA foreign_keys = ON');
  // One connection per replica (the owner tab's worker): holding SQLite's lock
  // keeps its page cache between transactions instead of rereading IndexedDB.
  if (storage === 'indexeddb') await runner.run('PRAGMA locking_mode = exclusive');
  connection = { api, db, runner, storage };
  return storage;
}

function ready(): Connection {
  if (connection) return connection;
  throw new SqliteDriverError(
    closed ? 'closed' : 'unsupported',
    closed ? 'The replica is closed.' : 'The replica is not open: call open() first.',
  );
}

async function close(): Promise<null> {
  closed = true;
  const current = connection;
  connection = undefined;
  if (current) {
    await current.runner.finalizeAll();
    // Closing the database releases its OPFS access handle and Web Lock now,
    // not when the worker is terminated, so a new worker can take the file.
    await current.api.sqlite3.close(current.db);
  }
  return null;
}

async function handle(request: WorkerRequest): Promise<WorkerOps[WorkerOp]['result']> {
  switch (request.op) {
    case 'open':
      return open(request);
    case 'execute':
      return ready().runner.run(request.sql, request.params);
    case 'batch': {
      const { sqls, which, params } = request;
      const statements: SqliteStatement[] = which.map((index, i) => ({
        sql: sqls[index]!,
        params: params[i] ?? [],
      }));
      return ready().runner.runBatch(statements, { transaction: request.transaction });
    }
    case 'close':
      return close();
    case 'rawInsert': {
      const { api, db } = ready();
      return rawInsert(api, db, request);
    }
  }
}

function toWireError(error: unknown): WireError {
  const driverError =
    error instanceof SqliteDriverError
      ? error
      : new SqliteDriverError(
          'crashed',
          `The SQLite worker failed: ${error instanceof Error ? error.message : String(error)}`,
        );
  return {
    code: driverError.code,
    message: driverError.message,
    ...(driverError.sqliteCode === undefined ? {} : { sqliteCode: driverError.sqliteCode }),
    ...(driverError.statementIndex === undefined
      ? {}
      : { statementIndex: driverError.statementIndex }),
  };
}

// One request at a time: a statement is stepped across awaits.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (event) => {
  const request = event.data;
  queue = queue.then(async () => {
    try {
      scope.postMessage({ id: request.id, ok: true, result: await handle(request) });
    } catch (error) {
      scope.postMessage({ id: request.id, ok: false, error: toWireError(error) });
    }
  });
};
