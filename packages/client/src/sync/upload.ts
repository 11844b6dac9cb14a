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
import {
  clearRejection,
  corruptMessage,
  rejectStatement,
  undecodableMessage,
} from '../replica/rejections.ts';
import type { Replica } from '../replica/replica.ts';
import {
  type CorruptRow,
  readRows,
  type StoredRow,
  upsertStatement,
} from '../replica/row-codec.ts';
import { quote, REJECTED_TABLE } from '../schema/names.ts';
import { learnScope } from './scope.ts';
import type { SyncObserver } from './sync-observer.ts';
import { refusesContent, type SyncTransport, serverRefusalOf } from './transport.ts';
import { leanRowDecoder, toUploadWireValue, wireRowDecoder } from './wire-rows.ts';

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

/** A row's upload entry and its snapshot, or why it cannot be sent. */
type EncodedRow = { upload: UploadRow; uploaded: Record<string, number> } | { problem: string };

/**
 * Encodes a dirty row for upload: for an insert every stamped synced column,
 * for an update the dirty ones. Undefined when there is nothing to send.
 */
function encodeRow(table: ResolvedTable, row: StoredRow): EncodedRow | undefined {
  if (row.dirty === null) return undefined;
  const op = row.dirty;
  const columns =
    op === 'insert'
      ? table.syncedColumns.filter((c) => row.metadata[c] !== undefined)
      : dirtyColumns(row.metadata).filter((c) => table.syncedColumns.includes(c));
  if (columns.length === 0) return undefined;
  const upload: UploadRow = { op, id: row.id, columns: {} };
  try {
    for (const name of columns) {
      upload.columns[name] = {
        value: toUploadWireValue(table.column[name]!, row.values[name]),
        t: row.metadata[name]!.t,
      };
    }
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
  return { upload, uploaded: uploadSnapshot(row.metadata, columns) };
}

/** Builds one request from the rows' current state; rows no longer dirty are left out. */
async function buildRequest(
  replica: Replica,
  rows: readonly QueuedRow[],
): Promise<{ request: UploadRequest; sent: SentRow[]; unreadable: QueuedRow[] }> {
  const request: UploadRequest = {
    protocol: PROTOCOL_VERSION,
    clientId: replica.clientId,
    tables: {},
  };
  const sent: SentRow[] = [];
  const unreadable: QueuedRow[] = [];
  for (const [table, queued] of groupByTable(rows)) {
    const ids = queued.map((row) => row.id);
    const corrupt = new Map<string, CorruptRow>();
    const current = await readRows(replica.driver, table, ids, corrupt);
    for (const id of ids) {
      if (corrupt.has(id)) {
        unreadable.push({ table, id });
        continue;
      }
      const row = current.get(id);
      const encoded = row && encodeRow(table, row);
      if (!encoded) continue;
      if ('problem' in encoded) {
        unreadable.push({ table, id });
        continue;
      }
      const list = request.tables[table.key] ?? [];
      request.tables[table.key] = list;
      list.push(encoded.upload);
      sent.push({ table, id, uploaded: encoded.uploaded });
    }
  }
  return { request, sent, unreadable };
}

/**
 * Quarantines rows that could not be read or encoded as `corrupt_local_row`,
 * after reading them again in the transaction: a local write that fixed one
 * in the meantime keeps it in the queue.
 */
async function quarantineUnreadable(replica: Replica, rows: readonly QueuedRow[]): Promise<void> {
  await replica.transaction(async (ex) => {
    const statements: SqliteStatement[] = [];
    for (const [table, queued] of groupByTable(rows)) {
      const corrupt = new Map<string, CorruptRow>();
      const current = await readRows(
        ex,
        table,
        queued.map((row) => row.id),
        corrupt,
      );
      for (const { id } of queued) {
        const row = current.get(id);
        const encoded = row && encodeRow(table, row);
        const reason =
          corrupt.get(id)?.message ??
          (encoded && 'problem' in encoded ? encoded.problem : undefined);
        if (reason === undefined) continue;
        statements.push(
          rejectStatement(
            table,
            id,
            'corrupt_local_row',
            corruptMessage(table, id, reason),
            replica.now(),
          ),
        );
      }
    }
    if (statements.length > 0) await ex.executeBatch(statements);
  });
}

/**
 * Applies an upload answer in one transaction: OK rows are acknowledged
 * (core `acknowledge`) and take the resolved values of their clean columns;
 * refused rows are marked rejected, except `clock_skew` ones, returned to be
 * re-stamped and sent again. Also returns the ids of the rows it changed, by table key.
 */
async function applyAnswer(
  replica: Replica,
  group: ResolvedGroup,
  sent: readonly SentRow[],
  response: UploadResponse,
): Promise<{ skewed: QueuedRow[]; changed: Map<string, Set<string>> }> {
  const skewed: QueuedRow[] = [];
  const changed = new Map<string, Set<string>>();
  await replica.transaction(async (ex) => {
    const statements: SqliteStatement[] = [];
    let learned = false;
    for (const [table, rows] of groupByTable(sent)) {
      const answer = response.tables[table.key];
      if (!answer) continue; // not answered: still dirty, sent again next sync
      const results = new Map(answer.results.map((r) => [r.id, r]));
      const decodeWireRow = wireRowDecoder(table, answer.columns);
      // Protocol 3 answers lean: only the columns this upload's writes do not hold.
      const decodeLeanRow = leanRowDecoder(table, answer.syncedAt);
      const corrupt = new Map<string, CorruptRow>();
      const current = await readRows(
        ex,
        table,
        rows.map((r) => r.id),
        corrupt,
      );
      for (const sentRow of rows) {
        const result = results.get(sentRow.id);
        const damaged = corrupt.get(sentRow.id);
        if (result && damaged) {
          // Damaged while its upload was in flight: the server has it, the replica cannot take the answer.
          statements.push(
            rejectStatement(
              table,
              sentRow.id,
              'corrupt_local_row',
              corruptMessage(table, sentRow.id, damaged.message),
              replica.now(),
            ),
          );
          continue;
        }
        const local = current.get(sentRow.id);
        if (!result || !local) continue;
        if (!result.ok) {
          if (result.code === 'clock_skew') {
            skewed.push({ table, id: sentRow.id });
          } else {
            statements.push(
              rejectStatement(table, sentRow.id, result.code, result.message, replica.now()),
            );
          }
          continue;
        }
        const resolved = 'row' in result ? decodeWireRow(result.row) : decodeLeanRow(result);
        replica.observeStamps(resolved.metadata);
        const { metadata, takeResolvedValue } = acknowledge(
          local.metadata,
          sentRow.uploaded,
          resolved.metadata,
          {
            column: table.isDeleted,
            local: local.values[table.isDeleted],
            resolved: resolved.values[table.isDeleted],
          },
        );
        const undecodable = takeResolvedValue.filter((c) => resolved.problems.has(c));
        if (undecodable.length > 0) {
          // The server holds a value this replica cannot: the row stays as it is, dirty,
          // and goes up again once a download brings the fixed value.
          statements.push(
            rejectStatement(
              table,
              sentRow.id,
              'undecodable_download',
              undecodableMessage(
                table,
                sentRow.id,
                undecodable.map((c) => resolved.problems.get(c)!),
              ),
              replica.now(),
            ),
          );
          continue;
        }
        const values = { ...local.values };
        for (const column of takeResolvedValue) {
          if (Object.hasOwn(resolved.values, column)) values[column] = resolved.values[column];
        }
        values[table.lastSyncedAt] =
          resolved.values[table.lastSyncedAt] ?? values[table.lastSyncedAt];
        // The server holds the row now: what is still dirty goes up as an update.
        const dirty = dirtyColumns(metadata).length > 0 ? 'update' : null;
        statements.push(upsertStatement(table, { id: local.id, values, metadata, dirty }));
        let ids = changed.get(table.key);
        if (!ids) {
          ids = new Set();
          changed.set(table.key, ids);
        }
        ids.add(local.id);
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
      // A row damaged meanwhile is left as it is: the resend quarantines it.
      const current = await readRows(
        ex,
        table,
        queued.map((row) => row.id),
        new Map(),
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

/**
 * Whether the server takes an upload request of this group carrying no
 * rows: then a refusal of a one-row request is that row's doing, not the
 * request's (wrong protocol version, a context the server lacks, ...).
 * Asked at most once per upload, and only after a refusal.
 */
class ShapeProbe {
  #accepted = false;

  constructor(
    private readonly replica: Replica,
    private readonly transport: SyncTransport,
    private readonly group: ResolvedGroup,
  ) {}

  /** An answer came for a request with rows: the shape is fine. */
  answered(): void {
    this.#accepted = true;
  }

  async accepts(table: ResolvedTable): Promise<boolean> {
    if (this.#accepted) return true;
    try {
      await this.transport.upload(this.group.name, {
        protocol: PROTOCOL_VERSION,
        clientId: this.replica.clientId,
        tables: { [table.key]: [] },
      });
    } catch {
      return false;
    }
    this.#accepted = true;
    return true;
  }
}

async function sendRows(
  replica: Replica,
  transport: SyncTransport,
  group: ResolvedGroup,
  rows: readonly QueuedRow[],
  attempt: number,
  observer: SyncObserver | undefined,
  probe: ShapeProbe,
): Promise<void> {
  const { request, sent, unreadable } = await buildRequest(replica, rows);
  if (unreadable.length > 0) await quarantineUnreadable(replica, unreadable);
  if (sent.length === 0) return;
  const sentAt = replica.now();
  let response: UploadResponse;
  try {
    response = await transport.upload(group.name, request);
  } catch (error) {
    const refusal = serverRefusalOf(error);
    if (!refusesContent(refusal)) throw error;
    if (sent.length > 1) {
      // Halve the request until the refused rows stand alone; the others go through.
      const half = Math.ceil(sent.length / 2);
      await sendRows(replica, transport, group, sent.slice(0, half), attempt, observer, probe);
      await sendRows(replica, transport, group, sent.slice(half), attempt, observer, probe);
      return;
    }
    const [row] = sent as [SentRow];
    if (!(await probe.accepts(row.table))) throw error;
    await replica.transaction((ex) =>
      ex.executeBatch([
        rejectStatement(
          row.table,
          row.id,
          'upload_refused',
          `${row.table.key} ${row.id}: the server refuses any upload that carries it (${refusal?.code ?? refusal?.status}: ${refusal?.message}).`,
          replica.now(),
        ),
      ]),
    );
    return;
  }
  probe.answered();
  const receivedAt = replica.now();
  replica.observeServerTime(response.serverTime, sentAt, receivedAt);
  const { skewed, changed } = await applyAnswer(replica, group, sent, response);
  await observer?.answerApplied(new Set(changed.keys()), changed);
  if (skewed.length === 0) return;
  // Our refused stamps reached no replica, so the clock may come back to server time.
  replica.rebaseClock(response.serverTime, sentAt, receivedAt);
  if (attempt >= MAX_SKEW_RETRIES) {
    throw new CarburetorClientError(
      'sync_failed',
      `The server still refuses ${skewed.length} row(s) of group "${group.name}" with clock_skew after ${MAX_SKEW_RETRIES} corrections; check this device's clock. The rows stay dirty and are sent again next sync.`,
    );
  }
  await restamp(replica, skewed);
  await sendRows(replica, transport, group, skewed, attempt + 1, observer, probe);
}

/**
 * Uploads the dirty rows of `tables` through `group`, in requests of at
 * most MAX_UPLOAD_ROWS rows, telling `observer` of each answer applied.
 * A row that cannot be read or encoded, or that the server refuses in any
 * request that carries it, is quarantined; the others go on.
 */
export async function uploadGroup(
  replica: Replica,
  transport: SyncTransport,
  group: ResolvedGroup,
  tables: readonly ResolvedTable[],
  observer?: SyncObserver,
): Promise<number> {
  if (tables.length === 0) return 0;
  const queue = await queuedRows(replica, tables);
  const probe = new ShapeProbe(replica, transport, group);
  for (let i = 0; i < queue.length; i += MAX_UPLOAD_ROWS) {
    const batch = queue.slice(i, i + MAX_UPLOAD_ROWS);
    await sendRows(replica, transport, group, batch, 0, observer, probe);
  }
  return queue.length;
}
