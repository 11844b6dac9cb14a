// The client's side of the protocol's values and rows (wire values, wire
// rows, download rows): app values to send, and the server's rows to take.
// The value codec itself is core's (protocol/value-codec.ts); this adds what
// the replica refuses, and quarantine's error.
import {
  DOWNLOAD_ROW,
  DownloadRowReader,
  type DownloadTablePage,
  decodeWireValue,
  encodeWireValue,
  type JsonValue,
  type LeanRowResult,
  normalizeTimestamp,
  type ResolvedColumn,
  type ResolvedTable,
  WIRE_ROW,
  type WireRow,
  type WireStamp,
} from '@carburetor/core';

/**
 * What keeps a wire value out of a column, in both directions: null where
 * the column is required, or a value outside the column type's domain
 * (core's `checkWire`). Validators and size limits are the server's to
 * enforce: a value the server holds is the truth, whatever a validator says.
 */
export function wireValueProblem(column: ResolvedColumn, wire: unknown): string | undefined {
  if (wire === null || wire === undefined) {
    return column.role === 'data' && !column.nullable ? `${column.name} is null` : undefined;
  }
  const reason = column.type.checkWire(wire);
  return reason === undefined ? undefined : `${column.name}: ${reason}`;
}

/** A value the client will not take or send: the row is quarantined, never the sync stalled. */
export class UnusableValueError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnusableValueError';
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An app value read from the replica → its wire form for an upload, checked
 * like an incoming value.
 *
 * @throws {UnusableValueError} when it has no wire form the server would take.
 */
export function toUploadWireValue(column: ResolvedColumn, value: unknown): JsonValue {
  let wire: JsonValue;
  try {
    wire = encodeWireValue(column, value);
  } catch (cause) {
    throw new UnusableValueError(`${column.name}: ${describeError(cause)}`, { cause });
  }
  const problem = wireValueProblem(column, wire);
  if (problem !== undefined) throw new UnusableValueError(problem);
  return wire;
}

/**
 * A wire value from the server → the app value.
 *
 * @throws {UnusableValueError} when the replica cannot hold it as the server does.
 */
export function fromIncomingWireValue(
  column: ResolvedColumn,
  wire: JsonValue | undefined,
): unknown {
  const problem = wireValueProblem(column, wire);
  if (problem !== undefined) throw new UnusableValueError(problem);
  try {
    return decodeWireValue(column, wire);
  } catch (cause) {
    throw new UnusableValueError(`${column.name}: ${describeError(cause)}`, { cause });
  }
}

/** A decoded incoming row: values by column (plus last-synced-at) and metadata. */
export interface IncomingRow {
  id: string;
  values: Record<string, unknown>;
  metadata: Record<string, WireStamp>;
}

/** A decoded wire row, and the values the replica cannot hold by column, with why. */
export type DecodedWireRow = IncomingRow & { problems: Map<string, string> };

/**
 * A decoder for the wire rows of one table's upload answer, whose values
 * come in the order of `columns`. Each row decodes to its values by column
 * (plus last-synced-at) and its metadata. Values the replica cannot hold are
 * left out and named in `problems` by column: the caller decides whether it
 * needs them.
 */
export function wireRowDecoder(
  table: ResolvedTable,
  columns: readonly string[],
): (row: WireRow) => DecodedWireRow {
  const known = columns.map((name) => [name, table.column[name]] as const);
  // A server of a newer config answers columns this one does not know: their stamps stay out
  // of the replica, with their values.
  const synced = new Set(table.syncedColumns);
  const knownStamps = (metadata: Record<string, WireStamp>) => {
    if (Object.keys(metadata).every((c) => synced.has(c))) return metadata;
    return Object.fromEntries(Object.entries(metadata).filter(([c]) => synced.has(c)));
  };
  // Rows written together share their last-synced-at: the last one is remembered.
  let syncedAtIn = '';
  let syncedAtOut = '';
  return (row) => {
    const [id, lastSyncedAt, metadata] = row;
    const values: Record<string, unknown> = {};
    const problems = new Map<string, string>();
    for (let i = 0; i < known.length; i++) {
      const [name, column] = known[i]!;
      if (!column) continue;
      try {
        values[name] = fromIncomingWireValue(column, row[WIRE_ROW.values + i] as JsonValue);
      } catch (error) {
        problems.set(name, describeError(error));
      }
    }
    try {
      if (lastSyncedAt && lastSyncedAt !== syncedAtIn) {
        syncedAtOut = normalizeTimestamp(lastSyncedAt);
        syncedAtIn = lastSyncedAt;
      }
      values[table.lastSyncedAt] = lastSyncedAt ? syncedAtOut : null;
    } catch {
      // A display time only: a row is never refused for it.
      values[table.lastSyncedAt] = null;
    }
    return { id, values, metadata: knownStamps(metadata ?? {}), problems };
  };
}

/**
 * A decoder for the lean OK rows of one table's upload answer (protocol 3):
 * each decodes to the values and stamps of its `others` (the columns its
 * write did not decide), plus last-synced-at (the row's own, else the
 * table's `syncedAt`). The columns it left out hold the client's own write,
 * which the replica has already. Values the replica cannot hold are named in
 * `problems`, as {@link wireRowDecoder} does.
 *
 * @example
 * ```ts
 * const decode = leanRowDecoder(table, answer.syncedAt);
 * const resolved = decode(result); // { id, values, metadata, problems }
 * ```
 */
export function leanRowDecoder(
  table: ResolvedTable,
  tableSyncedAt: string | undefined,
): (row: LeanRowResult) => DecodedWireRow {
  const syncedAt = new Map<string, string | null>();
  const normalized = (text: string | undefined): string | null => {
    if (!text) return null;
    let out = syncedAt.get(text);
    if (out === undefined) {
      try {
        out = normalizeTimestamp(text);
      } catch {
        out = null; // a display time only: a row is never refused for it
      }
      syncedAt.set(text, out);
    }
    return out;
  };
  return (row) => {
    const values: Record<string, unknown> = {};
    const metadata: Record<string, WireStamp> = {};
    const problems = new Map<string, string>();
    for (const [name, server] of Object.entries(row.others ?? {})) {
      const column = table.column[name];
      if (!column || !table.syncedColumns.includes(name)) continue;
      metadata[name] = { t: server.t, c: server.c };
      try {
        values[name] = fromIncomingWireValue(column, server.value);
      } catch (error) {
        problems.set(name, describeError(error));
      }
    }
    values[table.lastSyncedAt] = normalized(row.syncedAt ?? tableSyncedAt);
    return { id: row.id, values, metadata, problems };
  };
}

/** An incoming row the replica cannot hold: its id and why. */
export interface UndecodableRow {
  id: string;
  problem: string;
}

/**
 * A page's download rows by column (plus last-synced-at), with their metadata,
 * read in page order (times are differences between rows, see DownloadRow).
 * A row holding a value the replica cannot hold comes as an
 * {@link UndecodableRow}, in its place.
 */
export function decodeDownloadRows(
  table: ResolvedTable,
  page: DownloadTablePage,
): (IncomingRow | UndecodableRow)[] {
  const reader = new DownloadRowReader(page);
  const columns = page.columns.map((name) => [name, table.column[name]] as const);
  return page.rows.map((row) => {
    // Every row is read, in order, whatever becomes of it: times are differences.
    const id = String(row[DOWNLOAD_ROW.id]);
    try {
      const read = reader.read(row);
      const values: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) {
        const [name, column] = columns[i]!;
        if (column) values[name] = fromIncomingWireValue(column, read.values[i]);
      }
      values[table.lastSyncedAt] = read.lastSyncedAt;
      return { id: read.id, values, metadata: read.metadata };
    } catch (error) {
      return { id, problem: describeError(error) };
    }
  });
}
