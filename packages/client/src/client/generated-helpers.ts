import type { AnySyncConfig, ClientDatabase, ResolvedGroup, ResolvedTable } from '@carburetor/core';
import { type Kysely, sql } from 'kysely';
import type { SqliteExecutor } from '../driver/sqlite-driver.ts';
import type { Replica } from '../replica/replica.ts';
import {
  deleteRow,
  insertRow,
  insertRows,
  noWriteEffects,
  updateRow,
  type WriteEffects,
} from '../writes/local-writes.ts';

/** What the write helpers need from the client. */
export interface WriteHelperContext {
  replica: Replica;
  /** The tables that get `insert…`, `update…` and `delete…` helpers. */
  writableTables: readonly ResolvedTable[];
  /** Throws when the client is closed. */
  ensureOpen(): void;
  /** A write transaction committed (under the driver's lock): status, events, scheduling. */
  committed(effects: WriteEffects): void;
}

type WriteStep = <T>(
  fn: (
    ex: SqliteExecutor,
    stamp: ReturnType<Replica['stamp']>,
    effects: WriteEffects,
  ) => Promise<T>,
) => Promise<T>;

function addHelpers(
  target: Record<string, unknown>,
  tables: readonly ResolvedTable[],
  replica: Replica,
  run: WriteStep,
): void {
  for (const table of tables) {
    const insertOne = (row: unknown) =>
      run((ex, stamp, effects) => insertRow(ex, table, row, stamp, replica.now(), effects));
    const insertMany = (rows: unknown) =>
      run((ex, stamp, effects) => insertRows(ex, table, rows, stamp, replica.now(), effects));
    target[table.names.insertMany] = insertMany;
    // A plural equal to its key names both: an array is never a row.
    target[table.names.insert] =
      table.names.insert === table.names.insertMany
        ? (input: unknown) => (Array.isArray(input) ? insertMany(input) : insertOne(input))
        : insertOne;
    target[table.names.update] = (id: unknown, patch: unknown) =>
      run((ex, stamp, effects) => updateRow(ex, table, id, patch, stamp, effects));
    target[table.names.delete] = (id: unknown) =>
      run((ex, stamp, effects) => deleteRow(ex, table, id, stamp, effects));
  }
}

/**
 * The generated write helpers (`insertPhoneBook`, `insertPhoneBooks`,
 * `updatePhoneBook`, `deletePhoneBook`: each call one transaction with its
 * own write time) and
 * `transaction(fn)` (one transaction, one write time for all its writes).
 */
export function createWriteHelpers(context: WriteHelperContext): {
  helpers: Record<string, unknown>;
  transaction<T>(fn: (tx: Record<string, unknown>) => Promise<T>): Promise<T>;
} {
  const { replica, writableTables } = context;
  /** One transaction; status and events follow its commit. */
  const write = async <T>(fn: (ex: SqliteExecutor, effects: WriteEffects) => Promise<T>) => {
    context.ensureOpen();
    const effects = noWriteEffects();
    return replica.transaction(
      (ex) => fn(ex, effects),
      () => context.committed(effects),
    );
  };
  const helpers: Record<string, unknown> = {};
  addHelpers(helpers, writableTables, replica, (fn) =>
    write((ex, effects) => fn(ex, replica.stamp(), effects)),
  );
  return {
    helpers,
    transaction: (fn) =>
      write(async (ex, effects) => {
        const stamp = replica.stamp();
        const tx: Record<string, unknown> = {};
        addHelpers(tx, writableTables, replica, (inner) => inner(ex, stamp, effects));
        return fn(tx);
      }),
  };
}

/** The generated `active…()` queries: a table's rows that are not deleted, as a kysely query. */
export function createActiveQueries<C extends AnySyncConfig>(
  groups: readonly ResolvedGroup[],
  db: Kysely<ClientDatabase<C>>,
): Record<string, unknown> {
  const queries: Record<string, unknown> = {};
  for (const group of groups) {
    for (const { table } of group.tables) {
      queries[table.names.active] ??= () =>
        db
          .selectFrom(table.sqlName as never)
          .selectAll()
          .where(sql<boolean>`${sql.ref(table.isDeleted)} = 0`);
    }
  }
  return queries;
}
