import {
  checkValue,
  encodeColumnMetadata,
  isStorableText,
  markDirty,
  normalizeTimestamp,
  type ResolvedColumn,
  type ResolvedTable,
  type WriteStamp,
} from '@carburetor/core';
import type { SqliteExecutor, SqliteValue } from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';
import { clearRejection } from '../replica/rejections.ts';
import {
  appRow,
  insertStatements,
  readRows,
  type StoredRow,
  toStored,
  upsertStatement,
} from '../replica/row-codec.ts';
import { uuidv7 } from '../replica/uuid.ts';
import { quote, REJECTED_TABLE } from '../schema/names.ts';

function invalid(table: ResolvedTable, column: string | undefined, message: string) {
  return new CarburetorClientError('invalid_value', message, {
    table: table.key,
    ...(column === undefined ? {} : { column }),
  });
}

function checked(table: ResolvedTable, column: ResolvedColumn, value: unknown): unknown {
  const check = checkValue(column, value);
  if (!check.ok) {
    throw invalid(
      table,
      column.name,
      `Cannot write ${table.key}.${column.name}: ${check.message}. Nothing was written.`,
    );
  }
  return check.value;
}

function defaultValue(column: ResolvedColumn, now: number): unknown {
  const def = column.default;
  if (def?.kind === 'value') return def.value;
  if (def?.kind === 'now') {
    const iso = new Date(now).toISOString();
    return column.kind === 'date' ? iso.slice(0, 10) : normalizeTimestamp(iso);
  }
  return column.nullable ? null : undefined;
}

function asRecord(table: ResolvedTable, input: unknown, what: string): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalid(table, undefined, `${what} of ${table.key} takes an object of column values.`);
  }
  return input as Record<string, unknown>;
}

/**
 * What the writes of one transaction did, for the client's status and
 * change events once it commits.
 */
export interface WriteEffects {
  /** Table keys written. */
  tables: Set<string>;
  /** The ids written, per table key (for the change event). */
  ids: Map<string, Set<string>>;
  /** Change of the number of rows waiting for upload. */
  pending: number;
  /** Change of the number of rejected rows (a write to a rejected row queues it again). */
  rejected: number;
}

/** Creates an empty {@link WriteEffects}. */
export function noWriteEffects(): WriteEffects {
  return { tables: new Set(), ids: new Map(), pending: 0, rejected: 0 };
}

/**
 * Whether a row about to be written was rejected (the write clears that).
 * Read only when effects are recorded; a rejected row stays dirty, so a
 * clean row never is.
 */
async function wasRejected(
  ex: SqliteExecutor,
  effects: WriteEffects | undefined,
  table: ResolvedTable,
  before: StoredRow,
): Promise<boolean> {
  if (!effects || before.dirty === null) return false;
  const found = await ex.execute(
    `SELECT 1 AS x FROM ${REJECTED_TABLE} WHERE table_key = ? AND id = ?`,
    [table.key, before.id],
  );
  return found.rows.length > 0;
}

/** Records that row `id` of `table` was written. */
function recordRow(effects: WriteEffects, table: ResolvedTable, id: string): void {
  effects.tables.add(table.key);
  let ids = effects.ids.get(table.key);
  if (!ids) {
    ids = new Set();
    effects.ids.set(table.key, ids);
  }
  ids.add(id);
}

/** Records a write to a row that was (or was not) waiting or rejected before. */
function recordWrite(
  effects: WriteEffects | undefined,
  table: ResolvedTable,
  before: StoredRow,
  rejected: boolean,
): void {
  if (!effects) return;
  recordRow(effects, table, before.id);
  if (before.dirty === null || rejected) effects.pending += 1;
  if (rejected) effects.rejected -= 1;
}

/** Checks an insert's values and builds the stored row; throws before anything is written. */
export function prepareInsert(
  table: ResolvedTable,
  input: unknown,
  stamp: WriteStamp,
  now: number,
  /** Shared by the rows of a bulk insert (one write time). */
  metadata = markDirty({}, table.syncedColumns, stamp),
): StoredRow {
  const record = asRecord(table, input, 'An insert');
  for (const key of Object.keys(record)) {
    const column = table.column[key];
    if (column === undefined || (column.role !== 'data' && column.role !== 'id')) {
      throw invalid(
        table,
        key,
        column === undefined
          ? `${table.key} has no column "${key}"; the columns are: ${table.dataColumns.map((c) => c.name).join(', ')}.`
          : `${table.key}.${key} is managed by Carburetor and cannot be written.`,
      );
    }
  }
  const given = record[table.id];
  if (
    given !== undefined &&
    (typeof given !== 'string' ||
      given.length === 0 ||
      given.length > 255 ||
      !isStorableText(given))
  ) {
    throw invalid(
      table,
      table.id,
      `${table.key}.${table.id} must be a string of 1 to 255 characters without NUL characters or lone surrogates.`,
    );
  }
  const id = given ?? uuidv7(now);
  const values: Record<string, unknown> = {};
  for (const column of table.dataColumns) {
    const value = Object.hasOwn(record, column.name)
      ? record[column.name]
      : defaultValue(column, now);
    values[column.name] = checked(table, column, value);
  }
  values[table.isDeleted] = false;
  values[table.lastSyncedAt] = null;
  return { id, values, metadata, dirty: 'insert' };
}

/** Inserts a new row, every synced column dirty. */
export async function insertRow(
  ex: SqliteExecutor,
  table: ResolvedTable,
  input: unknown,
  stamp: WriteStamp,
  now: number,
  effects?: WriteEffects,
): Promise<Record<string, unknown>> {
  const row = prepareInsert(table, input, stamp, now);
  // An id made here (a UUIDv7: 74 random bits) names no row and no rejection yet; an
  // insert is on the way from a write to every screen, so it skips both lookups.
  const given = (input as Record<string, unknown>)[table.id] !== undefined;
  if (given && (await readRows(ex, table, [row.id])).size > 0) {
    throw new CarburetorClientError(
      'duplicate_id',
      `${table.key} ${row.id} already exists in the replica; update it, or insert without an id to get a new one.`,
      { table: table.key, column: table.id },
    );
  }
  const statement = upsertStatement(table, row);
  await ex.executeBatch(given ? [statement, clearRejection(table, row.id)] : [statement]);
  if (effects) {
    recordRow(effects, table, row.id);
    effects.pending += 1;
  }
  return appRow(table, row);
}

/** Rows one bulk insert takes at most: its statements are held in memory until they run. */
export const BULK_INSERT_LIMIT = 100_000;

/**
 * Inserts many new rows in one go (`insertPhoneBooks(rows)`): every row is
 * checked first (an invalid one fails the call, naming its index, before
 * anything is written), then all go in as multi-row statements. One write
 * time for all, like a transaction.
 */
export async function insertRows(
  ex: SqliteExecutor,
  table: ResolvedTable,
  inputs: unknown,
  stamp: WriteStamp,
  now: number,
  effects?: WriteEffects,
): Promise<Record<string, unknown>[]> {
  const what = `${table.names.insertMany}(rows)`;
  if (!Array.isArray(inputs)) {
    throw invalid(table, undefined, `${what} takes an array of rows (objects of column values).`);
  }
  if (inputs.length > BULK_INSERT_LIMIT) {
    throw invalid(
      table,
      undefined,
      `${what} takes at most ${BULK_INSERT_LIMIT} rows a call; got ${inputs.length}. Split them: each call is its own transaction.`,
    );
  }
  const metadata = markDirty({}, table.syncedColumns, stamp);
  const rows = inputs.map((input, index) => {
    try {
      return prepareInsert(table, input, stamp, now, metadata);
    } catch (error) {
      if (!(error instanceof CarburetorClientError)) throw error;
      throw new CarburetorClientError(error.code, `${what}, row ${index}: ${error.message}`, {
        table: table.key,
        ...(error.column === undefined ? {} : { column: error.column }),
        cause: error,
      });
    }
  });
  const ids = rows.map((row) => row.id);
  const given = new Map<string, number>();
  for (const [index, id] of ids.entries()) {
    const first = given.get(id);
    if (first !== undefined) {
      throw new CarburetorClientError(
        'duplicate_id',
        `${what}: rows ${first} and ${index} both have the id ${id}. Nothing was written.`,
        { table: table.key, column: table.id },
      );
    }
    given.set(id, index);
  }
  const existing = await readRows(ex, table, ids);
  if (existing.size > 0) {
    const [id] = existing.keys();
    throw new CarburetorClientError(
      'duplicate_id',
      `${what}: ${table.key} ${id} (row ${given.get(id!)}) already exists in the replica; update it, or insert without an id to get a new one. Nothing was written.`,
      { table: table.key, column: table.id },
    );
  }
  if (rows.length === 0) return [];
  await ex.executeBatch([
    ...insertStatements(table, rows, encodeColumnMetadata(metadata)),
    {
      sql: `DELETE FROM ${REJECTED_TABLE} WHERE table_key = ? AND id IN (SELECT value FROM json_each(?))`,
      params: [table.key, JSON.stringify(ids)],
    },
  ]);
  if (effects) {
    for (const id of ids) recordRow(effects, table, id);
    effects.pending += rows.length;
  }
  return rows.map((row) => appRow(table, row));
}

async function readLive(
  ex: SqliteExecutor,
  table: ResolvedTable,
  id: unknown,
  what: string,
): Promise<StoredRow> {
  if (typeof id !== 'string') {
    throw new CarburetorClientError('unknown_row', `${what} of ${table.key} needs an id string.`, {
      table: table.key,
    });
  }
  const row = (await readRows(ex, table, [id])).get(id);
  if (!row) {
    throw new CarburetorClientError(
      'unknown_row',
      `Cannot ${what.toLowerCase()} ${table.key} ${id}: the replica holds no such row.`,
      { table: table.key },
    );
  }
  if (row.values[table.isDeleted]) {
    throw new CarburetorClientError(
      'deleted_row',
      `Cannot ${what.toLowerCase()} ${table.key} ${id}: it is deleted, and deletion is permanent. Insert a new row instead.`,
      { table: table.key },
    );
  }
  return row;
}

/** Updates the supplied columns only (null is a value), marking exactly them dirty. */
export async function updateRow(
  ex: SqliteExecutor,
  table: ResolvedTable,
  id: unknown,
  changes: unknown,
  stamp: WriteStamp,
  effects?: WriteEffects,
): Promise<Record<string, unknown>> {
  const record = asRecord(table, changes, 'An update');
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (value === undefined) continue; // "not supplied", as in a spread of optional fields
    const column = table.column[key];
    if (column?.role !== 'data') {
      throw invalid(
        table,
        key,
        column === undefined
          ? `${table.key} has no column "${key}"; the columns are: ${table.dataColumns.map((c) => c.name).join(', ')}.`
          : `${table.key}.${key} is managed by Carburetor and cannot be updated.`,
      );
    }
    if (column.immutable) {
      throw invalid(table, key, `${table.key}.${key} is immutable: it is set on insert only.`);
    }
    values[key] = checked(table, column, value);
  }
  const row = await readLive(ex, table, id, 'Update');
  const columns = Object.keys(values);
  if (columns.length === 0) return appRow(table, row);
  const updated: StoredRow = {
    id: row.id,
    values: { ...row.values, ...values },
    metadata: markDirty(row.metadata, columns, stamp),
    dirty: row.dirty === 'insert' ? 'insert' : 'update',
  };
  const rejected = await wasRejected(ex, effects, table, row);
  await writeColumns(ex, table, updated, columns);
  recordWrite(effects, table, row, rejected);
  return appRow(table, updated);
}

/** Sets the deleted flag (a dirty synced column). */
export async function deleteRow(
  ex: SqliteExecutor,
  table: ResolvedTable,
  id: unknown,
  stamp: WriteStamp,
  effects?: WriteEffects,
): Promise<void> {
  const row = await readLive(ex, table, id, 'Delete');
  const updated: StoredRow = {
    id: row.id,
    values: { ...row.values, [table.isDeleted]: true },
    metadata: markDirty(row.metadata, [table.isDeleted], stamp),
    dirty: row.dirty === 'insert' ? 'insert' : 'update',
  };
  const rejected = await wasRejected(ex, effects, table, row);
  await writeColumns(ex, table, updated, [table.isDeleted]);
  recordWrite(effects, table, row, rejected);
}

async function writeColumns(
  ex: SqliteExecutor,
  table: ResolvedTable,
  row: StoredRow,
  columns: readonly string[],
): Promise<void> {
  const sets = [...columns, table.columnSyncMetadata, table.dirtyFlag];
  const params: SqliteValue[] = columns.map((c) => toStored(table.column[c]!, row.values[c]));
  params.push(encodeColumnMetadata(row.metadata), row.dirty, row.id);
  await ex.executeBatch([
    {
      sql: `UPDATE ${quote(table.sqlName)} SET ${sets.map((c) => `${quote(c)} = ?`).join(', ')} WHERE ${quote(table.id)} = ?`,
      params,
    },
    clearRejection(table, row.id),
  ]);
}
