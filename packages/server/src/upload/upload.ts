import {
  type AnySyncConfig,
  checkUploadRow,
  columnTypes,
  describeValue,
  isReplicaClientId,
  type JsonValue,
  mergeRow,
  type ResolvedGroupTable,
  type RowErrorCode,
  type RowState,
  SERVER_CLIENT_ID,
  SUPPORTED_PROTOCOL_VERSIONS,
  SUPPORTED_PROTOCOL_VERSIONS_TEXT,
  timestampToMs,
  type UploadRequest,
  type UploadResponse,
  type UploadRow,
  type UploadRowResult,
  type UploadTableResult,
  type WireRow,
} from '@carburetor/core';
import { type Kysely, type QueryExecutorProvider, sql } from 'kysely';
import { clipText } from '../clip-text.ts';
import { CarburetorServerError } from '../errors.ts';
import { groupOf, groupTableOf } from '../group.ts';
import type { TableChange } from '../realtime/change-message.ts';
import { UPLOAD_SETTING } from '../schema/names.ts';
import { type ChangeAnnouncement, tableChangeOf, type WrittenRow } from './announcement.ts';
import { changedImmutable, outOfScope, type TableScope, tableScope } from './authorize.ts';
import { clockSkew, incomingRowState, type ServerClock } from './incoming-rows.ts';
import { type IncomingRecord, insertNew, lockRows, mergeIntoStored } from './merge-sql.ts';
import { isRowRefusal, type Refusals, writeAllowingRefusals } from './refused-rows.ts';
import { leanRowResult, type RawRow, storedRowState, wireRowOf } from './resolved-rows.ts';

/**
 * Applies an upload: merges each row into PostgreSQL column by column (last
 * writer wins by write time, then client id; the deleted flag is a one-way
 * switch) after checking its values and the caller's rights, all in one
 * transaction. Each row gets its own answer, in request order: OK with the
 * row as the server now holds it (protocol 3: only what the client does not
 * hold already, see `leanRowResult`), or an error code (`invalid_value`,
 * `clock_skew`, `read_only`, `insufficient_permission`, `record_not_found`)
 * that leaves that row unchanged while the others apply.
 *
 * The request's structure is expected to be valid (the router parses it with
 * `groupProtocol(config, groupName).uploadRequest` first).
 *
 * @param contextValues the caller's context, e.g. `{ userId: 'u1' }`: a
 * group's `restrictTo` compares rows against it.
 * @param options `changes`: the {@link ChangeHub} that tells realtime
 * subscribers (of every server instance) what this upload changed, once it
 * committed. The sync router passes its own; without it, subscribers hear
 * nothing of this upload (the notify triggers stay silent inside uploads).
 * @throws {CarburetorServerError} `bad_request` for an unknown group, a table
 * not in the group, a wrong protocol version or client id; `unauthorized`
 * when the context lacks a value a restricted table needs. Nothing is written.
 * @example
 * ```ts
 * const response = await uploadChanges(db, config, 'private_contacts', request, { userId: 'u1' }, { changes: hub });
 * for (const result of response.tables.phone_book?.results ?? []) {
 *   if (!result.ok) console.warn(result.code, result.message);
 * }
 * ```
 */
export async function uploadChanges<DB>(
  db: Kysely<DB>,
  config: AnySyncConfig,
  groupName: string,
  request: UploadRequest,
  contextValues: Readonly<Record<string, string | number>>,
  options: UploadOptions = {},
): Promise<UploadResponse> {
  // Realtime waits for uploads under way, so a burst of them is delivered once.
  const ended = options.changes?.uploadStarted?.();
  try {
    const { response, changes } = await writeUpload(db, config, groupName, request, contextValues);
    // Committed: now, outside the transaction, realtime may hear of it.
    options.changes?.announce(changes);
    return response;
  } finally {
    ended?.();
  }
}

/** The upload's writes, committed, and what they changed for realtime. */
async function writeUpload<DB>(
  db: Kysely<DB>,
  config: AnySyncConfig,
  groupName: string,
  request: UploadRequest,
  contextValues: Readonly<Record<string, string | number>>,
): Promise<{ response: UploadResponse; changes: TableChange[] }> {
  const group = groupOf(config, groupName);
  if (!(SUPPORTED_PROTOCOL_VERSIONS as readonly unknown[]).includes(request.protocol)) {
    throw new CarburetorServerError(
      'bad_request',
      `Upload protocol version ${JSON.stringify(request.protocol)} is not supported; this server speaks versions ${SUPPORTED_PROTOCOL_VERSIONS_TEXT}.`,
    );
  }
  if (!isReplicaClientId(request.clientId)) {
    throw new CarburetorServerError(
      'bad_request',
      `Client id ${JSON.stringify(request.clientId)} is not valid: use 1-64 lowercase letters, digits, "-" or "_", not "${SERVER_CLIENT_ID}".`,
    );
  }
  const work: TableWork[] = [];
  for (const [key, rows] of Object.entries(request.tables)) {
    const entry = groupTableOf(group, key);
    const scope = entry.readOnly ? undefined : tableScope(entry, groupName, contextValues);
    work.push({ entry, scope, rows: rows ?? [] });
  }

  const apply = (careful: boolean) =>
    db.transaction().execute(async (trx) => {
      // First, so the stamp trigger knows these writes carry their own metadata.
      const { rows } = await sql<{
        now: unknown;
      }>`select set_config(${UPLOAD_SETTING}, 'on', true) as upload, clock_timestamp() as now`.execute(
        trx,
      );
      const iso = columnTypes.timestamptz.fromPg(rows[0]!.now);
      const clock: ServerClock = { iso, ms: timestampToMs(iso) };
      const tables: Record<string, UploadTableResult> = {};
      const changes: TableChange[] = [];
      for (const item of work) {
        const { table } = item.entry;
        const written: WrittenRow[] = [];
        tables[table.key] = await uploadTable(trx, groupName, request, clock, item, {
          careful,
          written,
        });
        if (written.length > 0) changes.push(tableChangeOf(config, table, written));
      }
      // Answered in the request's version: 3 answers OK rows lean (resolved-rows.ts).
      const response: UploadResponse = { protocol: request.protocol, serverTime: clock.ms, tables };
      return { response, changes };
    });
  let applied: Awaited<ReturnType<typeof apply>>;
  try {
    applied = await apply(false);
  } catch (error) {
    // The database refused a row our checks let through (the app's own
    // constraint or trigger, a value out of its range): nothing was written.
    // Once more, finding the refused rows, so only they fail.
    if (!isRowRefusal(error)) throw error;
    applied = await apply(true);
  }
  return applied;
}

/** Options of {@link uploadChanges}. */
export interface UploadOptions {
  /** Where to announce the committed changes (a {@link ChangeHub}). */
  readonly changes?: ChangeAnnouncement | undefined;
}

interface TableWork {
  entry: ResolvedGroupTable;
  /** Undefined for a read-only table. */
  scope: TableScope | undefined;
  rows: readonly UploadRow[];
}

/** A row that passed the value and clock checks, waiting for authorization. */
interface Candidate {
  index: number;
  op: UploadRow['op'];
  id: string;
  incoming: RowState;
}

/** The answer to an update of an id the caller cannot see, whether or not it exists. */
const NOT_FOUND = 'no such row to update; insert it first (or it was never uploaded)';
const ID_TAKEN =
  'a row with this id exists and is not yours to change; ids are generated by the client, so insert with a new one';

function refusal(id: string, code: RowErrorCode, message: string): UploadRowResult {
  // Messages quote cut values already; this bounds whatever else a message may grow to.
  return { id, ok: false, code, message: clipText(message, 1_000) };
}

async function uploadTable(
  db: QueryExecutorProvider,
  groupName: string,
  { clientId, protocol }: Pick<UploadRequest, 'clientId' | 'protocol'>,
  clock: ServerClock,
  { entry, scope, rows }: TableWork,
  { careful, written: changed }: { careful: boolean; written: WrittenRow[] },
): Promise<UploadTableResult> {
  const { table } = entry;
  const results: (UploadRowResult | undefined)[] = new Array(rows.length);
  const columns = [...table.syncedColumns];
  if (!scope) {
    rows.forEach((row, i) => {
      results[i] = refusal(
        row.id,
        'read_only',
        `${table.key} ${row.id}: group "${groupName}" may read ${table.key} but not write it; upload it through a group where it is writable`,
      );
    });
    return { columns, results: results as UploadRowResult[] };
  }

  const candidates: Candidate[] = [];
  rows.forEach((row, index) => {
    const checked = checkUploadRow(entry, row);
    if (!checked.ok) {
      results[index] = refusal(row.id, checked.code, checked.message);
      return;
    }
    const skew = clockSkew(table, checked, clock);
    if (skew !== undefined) {
      results[index] = refusal(row.id, 'clock_skew', skew);
      return;
    }
    const incoming = incomingRowState(table, checked, clientId, clock);
    candidates.push({ index, op: row.op, id: row.id, incoming });
  });

  const ids = [...new Set(candidates.map((c) => c.id))];
  const raw = new Map<string, RawRow>();
  const stored = new Map<string, RowState>();
  for (const row of await lockRows(db, table, ids)) {
    const id = String(row[table.id]);
    raw.set(id, row);
    stored.set(id, storedRowState(table, row));
  }

  // Rows are authorized in request order against the state the earlier ones
  // leave, so several rows for one id behave like separate uploads. What each
  // id receives is folded into one record (the merge is associative).
  const current = new Map(stored);
  const received = new Map<string, RowState>();
  const accepted: Candidate[] = [];
  for (const candidate of candidates) {
    const { id, incoming } = candidate;
    const before = current.get(id);
    const denied = (code: RowErrorCode, why: string) => {
      results[candidate.index] = refusal(id, code, `${table.key} ${id}: ${why}`);
    };
    let after: RowState;
    if (before === undefined) {
      if (candidate.op === 'update') {
        denied('record_not_found', NOT_FOUND);
        continue;
      }
      const outside = outOfScope(scope, incoming);
      if (outside !== undefined) {
        denied('insufficient_permission', `you may not insert this row: ${outside}`);
        continue;
      }
      after = incoming;
    } else {
      if (outOfScope(scope, before) !== undefined) {
        // A row the caller cannot see reads as no row at all; an insert of
        // its id cannot hide that the id is taken, but says nothing of it.
        if (candidate.op === 'update') denied('record_not_found', NOT_FOUND);
        else denied('insufficient_permission', ID_TAKEN);
        continue;
      }
      const immutable = changedImmutable(table, before, incoming);
      if (immutable !== undefined) {
        const kept = before[immutable.name]?.value as JsonValue;
        const sent = incoming[immutable.name]?.value as JsonValue;
        denied(
          'insufficient_permission',
          `${immutable.name} is immutable: it is ${describeValue(kept)} and cannot become ${describeValue(sent)}`,
        );
        continue;
      }
      after = mergeRow(before, incoming, table.isDeleted);
      const leaves = outOfScope(scope, after);
      if (leaves !== undefined) {
        denied(
          'insufficient_permission',
          `this change would take the row out of your scope: ${leaves}`,
        );
        continue;
      }
    }
    current.set(id, after);
    const earlier = received.get(id);
    received.set(id, earlier ? mergeRow(earlier, incoming, table.isDeleted) : incoming);
    accepted.push(candidate);
  }

  const updates: IncomingRecord[] = [];
  const inserts: IncomingRecord[] = [];
  for (const [id, state] of received) {
    const known = stored.get(id);
    // Nothing wins on a stored row: no write, the answer is the row as it is.
    if (known !== undefined && current.get(id) === known) continue;
    (known === undefined ? inserts : updates).push(recordOf(id, state));
  }
  // Rows the database refused (careful mode only), with its reason.
  const refused: Refusals = new Map();
  const write = (statement: (records: readonly IncomingRecord[]) => Promise<RawRow[]>) =>
    careful
      ? (records: readonly IncomingRecord[]) =>
          writeAllowingRefusals(db, records, statement, refused)
      : statement;
  const written = new Set<string>();
  for (const row of await write((records) => mergeIntoStored(db, scope, records))(updates)) {
    const id = String(row[table.id]);
    raw.set(id, row);
    written.add(id);
    changed.push({ before: stored.get(id), after: storedRowState(table, row) });
  }
  if (updates.some((record) => !written.has(record.id) && !refused.has(record.id))) {
    // The rows are locked and TS and SQL apply the same merge: a row the SQL
    // did not write is a bug, and the whole upload rolls back rather than
    // answer with a state that is not the server's.
    const missing = updates
      .filter((record) => !written.has(record.id) && !refused.has(record.id))
      .map((r) => r.id);
    throw new Error(
      `Carburetor upload: the merge did not write ${table.sqlName} rows ${missing.join(', ')} although they changed; nothing was applied.`,
    );
  }
  for (const row of await write((records) => insertNew(db, scope, records))(inserts)) {
    const id = String(row[table.id]);
    raw.set(id, row);
    written.add(id);
    // A row another transaction inserted meanwhile and this merge changed: its state before
    // is unknown here; the one that inserted it announced that state.
    changed.push({ before: undefined, after: storedRowState(table, row) });
  }
  const toWrite = new Set([...updates, ...inserts].map((record) => record.id));

  // An id inserted by another transaction since the lock: the guard kept or
  // refused the merge, and a merge that changed nothing is not returned
  // either (the trigger drops it). Read those rows and decide as for a
  // stored row.
  const raced = inserts
    .map((record) => record.id)
    .filter((id) => !written.has(id) && !refused.has(id));
  for (const row of await lockRows(db, table, raced)) {
    const id = String(row[table.id]);
    const state = storedRowState(table, row);
    const incoming = received.get(id)!;
    if (
      outOfScope(scope, state) === undefined &&
      changedImmutable(table, state, incoming) === undefined &&
      mergeRow(state, incoming, table.isDeleted) === state
    ) {
      raw.set(id, row);
      written.add(id);
    }
  }

  const wireRows = new Map<string, WireRow>();
  const timestamps = new Map<unknown, string>();
  const lean = protocol >= 3;
  let syncedAt: string | undefined;
  for (const { index, id } of accepted) {
    const reason = refused.get(id);
    if (reason !== undefined) {
      results[index] = refusal(
        id,
        'invalid_value',
        `${table.key} ${id}: the database refused this row: ${clipText(reason, 300)}`,
      );
      continue;
    }
    const row = raw.get(id);
    if (row === undefined || (toWrite.has(id) && !written.has(id))) {
      // The guard refused it: another transaction wrote this id since the rows were locked.
      results[index] = refusal(
        id,
        'insufficient_permission',
        `${table.key} ${id}: a row with this id was just written by someone else, and it is not yours to change`,
      );
      continue;
    }
    if (lean) {
      const { syncedAt: rowSyncedAt, ...answer } = leanRowResult(
        table,
        row,
        rows[index]!,
        clientId,
        timestamps,
      );
      // The first OK row's time is the table's: the rows this upload wrote share it.
      syncedAt ??= rowSyncedAt;
      results[index] = rowSyncedAt === syncedAt ? answer : { ...answer, syncedAt: rowSyncedAt };
      continue;
    }
    let wire = wireRows.get(id);
    if (!wire) {
      wire = wireRowOf(table, row, timestamps);
      wireRows.set(id, wire);
    }
    results[index] = { id, ok: true, row: wire };
  }
  return {
    columns,
    results: results as UploadRowResult[],
    ...(syncedAt === undefined ? {} : { syncedAt }),
  };
}

function recordOf(id: string, state: RowState): IncomingRecord {
  const record: IncomingRecord = { id, values: {}, stamps: {} };
  for (const [name, { value, stamp }] of Object.entries(state)) {
    record.values[name] = value as JsonValue;
    record.stamps[name] = stamp;
  }
  return record;
}
