import {
  acknowledge,
  dirtyColumns,
  encodeColumnMetadata,
  MAX_UPLOAD_ROWS,
  markDirty,
  PROTOCOL_VERSION,
  type ResolvedGroup,
  type ResolvedTable,
  type UploadRequest,
  type UploadResponse,
  type UploadRow,
  uploadSnapshot,
} from '@carburetor/core';
import type { SqliteExecutor, SqliteStatement } from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';
import { clearRejection } from '../replica/rejections.ts';
import type { Replica } from '../replica/replica.ts';
import { readRows, upsertStatement } from '../replica/row-codec.ts';
import { quote, REJECTED_TABLE } from '../schema/names.ts';
import { learnScope } from './scope.ts';
import type { SyncObserver } from './sync-observer.ts';
import type { SyncTransport } from './transport.ts';
import { decodeWireRow, observeStamps, toWire } from './wire.ts';

/** How many times rows refused with `clock_skew` are re-stamped and sent again in one sync. */
const MAX_SKEW_RETRIES = 3;

interface QueuedRow {
  table: ResolvedTable;
  id: string;
}

interface SentRow {
  table: ResolvedTable;
  id: string;
  /** The write time of each dirty column sent (core `uploadSnapshot`). */
  uploaded: Record<string, number>;
}

/** The upload queue of some tables: dirty rows that are not rejected, oldest first. */
async function queuedRows(
  replica: Replica,
  tables: readonly ResolvedTable[],
): Promise<QueuedRow[]> {
  const out: QueuedRow[] = [];
  for (const table of tables) {
    const result = await replica.driver.execute(
      `SELECT ${quote(table.id)} AS id FROM ${quote(table.sqlName)} WHERE ${quote(table.dirtyFlag)} IS NOT NULL AND ${quote(table.id)} NOT IN (SELECT id FROM ${REJECTED_TABLE} WHERE table_key = ?) ORDER BY rowid`,
      [table.key],
    );
    for (const row of result.rows) out.push({ table, id: String(row['id']) });
  }
  return out;
}

/** Rows by table, in order (appending in place: a copy per row is quadratic on a 2 000-row request). */
function groupByTable<R extends { table: ResolvedTable }>(
  rows: readonly R[],
): Map<ResolvedTable, R[]> {
  const byTable = new Map<ResolvedTable, R[]>();
  for (const row of rows) {
    const list = byTable.get(row.table);
    if (list) list.push(row);
    else byTable.set(row.table, [row]);
  }
  return byTable;
}

/** Builds one request from the rows' current state; rows no longer dirty are left out. */
async function buildRequest(
  replica: Replica,
  rows: readonly QueuedRow[],
): Promise<{ request: UploadRequest; sent: SentRow[] }> {
  const request: UploadRequest = {
    protocol: PROTOCOL_VERSION,
    clientId: replica.clientId,
    tables: {},
  };
  const sent: SentRow[] = [];
  for (const [table, queued] of groupByTable(rows)) {
    const ids = queued.map((row) => row.id);
    const current = await readRows(replica.driver, table, ids);
    for (const id of ids) {
      const row = current.get(id);
      if (!row || row.dirty === null) continue;
      const op = row.dirty;
      const columns =
        op === 'insert'
          ? table.syncedColumns.filter((c) => row.metadata[c] !== undefined)
          : dirtyColumns(row.metadata).filter((c) => table.syncedColumns.includes(c));
      if (columns.length === 0) continue;
      const upload: UploadRow = { op, id, columns: {} };
      for (const name of columns) {
        upload.columns[name] = {
          value: toWire(table.column[name]!, row.values[name]),
          t: row.metadata[name]!.t,
        };
      }
      const list = request.tables[table.key] ?? [];
      request.tables[table.key] = list;
      list.push(upload);
      sent.push({ table, id, uploaded: uploadSnapshot(row.metadata, columns) });
    }
  }
  return { request, sent };
}

/**
 * Applies an upload answer in one transaction: OK rows are acknowledged
 * (core `acknowledge`) and take the resolved values of their clean columns;
 * refused rows are marked rejected, except `clock_skew` ones, returned to be
 * re-stamped and sent again. Also returns the tables whose rows changed.
 */
async function applyAnswer(
  replica: Replica,
  group: ResolvedGroup,
  sent: readonly SentRow[],
  response: UploadResponse,
): Promise<{ skewed: QueuedRow[]; changed: Set<string> }> {
  const skewed: QueuedRow[] = [];
  const changed = new Set<string>();
  await replica.transaction(async (ex) => {
    const statements: SqliteStatement[] = [];
    let learned = false;
    for (const [table, rows] of groupByTable(sent)) {
      const answer = response.tables[table.key];
      if (!answer) continue; // not answered: still dirty, sent again next sync
      const results = new Map(answer.results.map((r) => [r.id, r]));
      const current = await readRows(
        ex,
        table,
        rows.map((r) => r.id),
      );
      for (const sentRow of rows) {
        const result = results.get(sentRow.id);
        const local = current.get(sentRow.id);
        if (!result || !local) continue;
        if (!result.ok) {
          if (result.code === 'clock_skew') {
            skewed.push({ table, id: sentRow.id });
          } else {
            statements.push({
              sql: `INSERT OR REPLACE INTO ${REJECTED_TABLE} (table_key, id, code, message, rejected_at) VALUES (?, ?, ?, ?, ?)`,
              params: [table.key, sentRow.id, result.code, result.message, replica.now()],
            });
          }
          continue;
        }
        const resolved = decodeWireRow(table, answer.columns, result.row);
        observeStamps(replica.clock, resolved.metadata);
        const { metadata, takeResolvedValue } = acknowledge(
          local.metadata,
          sentRow.uploaded,
          resolved.metadata,
        );
        const values = { ...local.values };
        for (const column of takeResolvedValue) {
          if (Object.hasOwn(resolved.values, column)) values[column] = resolved.values[column];
        }
        values[table.lastSyncedAt] =
          resolved.values[table.lastSyncedAt] ?? values[table.lastSyncedAt];
        const deletedStamp = resolved.metadata[table.isDeleted];
        if (resolved.values[table.isDeleted] === true && !values[table.isDeleted] && deletedStamp) {
          // The deleted flag is one-way at the server whatever the stamps say.
          values[table.isDeleted] = true;
          metadata[table.isDeleted] = { t: deletedStamp.t, c: deletedStamp.c };
        }
        // The server holds the row now: what is still dirty goes up as an update.
        const dirty = dirtyColumns(metadata).length > 0 ? 'update' : null;
        statements.push(upsertStatement(table, { id: local.id, values, metadata, dirty }));
        changed.add(table.key);
        statements.push(clearRejection(table, local.id));
        learned = learnScope(replica, group, table, values) || learned;
      }
    }
    if (learned) statements.push(replica.scopeStatement(group.name));
    if (statements.length > 0) await ex.executeBatch(statements);
  });
  return { skewed, changed };
}

/**
 * The server refused write times from the future. The clock has been rebased
 * on server time; every dirty column of the refused rows gets a new stamp
 * from it.
 */
async function restamp(replica: Replica, rows: readonly QueuedRow[]) {
  await replica.transaction(async (ex: SqliteExecutor) => {
    const statements: SqliteStatement[] = [];
    for (const [table, queued] of groupByTable(rows)) {
      const sql = `UPDATE ${quote(table.sqlName)} SET ${quote(table.columnSyncMetadata)} = ? WHERE ${quote(table.id)} = ?`;
      const current = await readRows(
        ex,
        table,
        queued.map((row) => row.id),
      );
      for (const { id } of queued) {
        const local = current.get(id);
        if (!local) continue;
        const dirty = dirtyColumns(local.metadata);
        if (dirty.length === 0) continue;
        const metadata = markDirty(local.metadata, dirty, replica.stamp());
        statements.push({ sql, params: [encodeColumnMetadata(metadata), id] });
      }
    }
    if (statements.length > 0) await ex.executeBatch(statements);
  });
}

async function sendRows(
  replica: Replica,
  transport: SyncTransport,
  group: ResolvedGroup,
  rows: readonly QueuedRow[],
  attempt: number,
  observer: SyncObserver | undefined,
): Promise<void> {
  const { request, sent } = await buildRequest(replica, rows);
  if (sent.length === 0) return;
  const sentAt = replica.now();
  const response = await transport.upload(group.name, request);
  const receivedAt = replica.now();
  replica.clock.observeServerTime(response.serverTime, sentAt, receivedAt);
  const { skewed, changed } = await applyAnswer(replica, group, sent, response);
  await observer?.answerApplied(changed);
  if (skewed.length === 0) return;
  // Our refused stamps reached no replica, so the clock may come back to server time.
  replica.clock.rebase(response.serverTime, sentAt, receivedAt);
  if (attempt >= MAX_SKEW_RETRIES) {
    throw new CarburetorClientError(
      'sync_failed',
      `The server still refuses ${skewed.length} row(s) of group "${group.name}" with clock_skew after ${MAX_SKEW_RETRIES} corrections; check this device's clock. The rows stay dirty and are sent again next sync.`,
    );
  }
  await restamp(replica, skewed);
  await sendRows(replica, transport, group, skewed, attempt + 1, observer);
}

/**
 * Uploads the dirty rows of `tables` through `group`, in requests of at
 * most MAX_UPLOAD_ROWS rows, telling `observer` of each answer applied.
 */
export async function uploadGroup(
  replica: Replica,
  transport: SyncTransport,
  group: ResolvedGroup,
  tables: readonly ResolvedTable[],
  observer?: SyncObserver,
): Promise<void> {
  if (tables.length === 0) return;
  const queue = await queuedRows(replica, tables);
  for (let i = 0; i < queue.length; i += MAX_UPLOAD_ROWS) {
    await sendRows(replica, transport, group, queue.slice(i, i + MAX_UPLOAD_ROWS), 0, observer);
  }
}
