import { isStorableText, type JsonValue } from '../config/column-types.ts';
import type { ResolvedGroupTable } from '../config/resolved.ts';
import type { ProtocolVersion } from './limits.ts';
import { checkWireValue, describeValue } from './values.ts';

// "Wire" means the protocol, never a database: a *wire value* is one column
// value in its JSON form (a column type's `toWire`), a *wire row* the tuple
// an upload answer carries ({@link WireRow}; a download page carries the
// flatter {@link DownloadRow}). What a database holds is a *stored value*:
// SQLite's (a column type's `toSqlite`), or PostgreSQL's (read by `fromPg`).

/** Per-column write stamp on the wire: HLC write time and writer's client id. */
export interface WireStamp {
  t: number;
  c: string;
}

/** Column metadata of a row on the wire: one stamp per synced column. */
export type WireMetadata = Record<string, WireStamp>;

/**
 * One row on the wire, as a tuple to keep pages small and fast to encode:
 * id, last-synced-at (server time), column metadata, then the synced values
 * in the order of the table's `columns`.
 */
export type WireRow = [
  id: string,
  lastSyncedAt: string,
  metadata: WireMetadata,
  ...values: JsonValue[],
];

/**
 * Where a {@link WireRow}'s items are: its values start at `values`, the
 * first synced column's value there.
 *
 * @example
 * ```ts
 * const name = row[WIRE_ROW.values + columns.indexOf('name')];
 * ```
 */
export const WIRE_ROW = Object.freeze({ id: 0, lastSyncedAt: 1, metadata: 2, values: 3 } as const);

/**
 * One row of a download page, as a flat array to keep pages small and fast
 * to encode: id, when the server last wrote it, the synced values in the
 * order of the page's `columns`, then each column's stamp as two items, its
 * write time and the index of its writer in the page's `clients` (both null
 * when the column has no stamp).
 *
 * Times go as differences, since rows near each other in a page were mostly
 * written near each other: last-synced-at is in microseconds since the epoch,
 * sent as the difference from the previous row's; each write time as the
 * difference from the previous write time in the page (row by row, column by
 * column). The first of each in a page is sent whole. Read rows in page
 * order with a {@link DownloadRowReader}.
 *
 * @example
 * ```ts
 * // columns ['name', 'is_deleted'], clients ['device-1']; the previous row was synced
 * // at 1764085265000000 and its last write time was 1764085200000000
 * const row: DownloadRow = ['c1', 123_456, 'Ada', false, 5_000_017, 0, -5, 0];
 * // synced at 1764085265123456 (2025-11-25T15:41:05.123456Z),
 * // name {t: 1764085205000017, c: 'device-1'}, is_deleted {t: 1764085205000012, c: 'device-1'}
 * ```
 */
export type DownloadRow = [id: string, syncedAt: number | null, ...rest: JsonValue[]];

/**
 * Where a {@link DownloadRow}'s items are: the value of column `n` of
 * `count` at `values + n`, its stamp at {@link downloadRowStampAt}.
 */
export const DOWNLOAD_ROW = Object.freeze({ id: 0, syncedAt: 1, values: 2 } as const);

/**
 * Where the stamp of column `n` (of `count` columns) starts in a
 * {@link DownloadRow}: its write time there, its writer's index next.
 *
 * @example
 * ```ts
 * const at = downloadRowStampAt(page.columns.length, 0);
 * const [time, writer] = [row[at], row[at + 1]];
 * ```
 */
export function downloadRowStampAt(count: number, n: number): number {
  return DOWNLOAD_ROW.values + count + 2 * n;
}

/** Per-row error codes of an upload. */
export type RowErrorCode =
  | 'insufficient_permission'
  | 'record_not_found'
  | 'read_only'
  | 'invalid_value'
  | 'clock_skew';

/** What the client says about one table when it downloads. */
export interface DownloadTableRequest {
  /** Opaque cursor from the last page, or null for a first download. */
  cursor: string | null;
  /** The replica already holds rows of this table: a first download then sends tombstones. */
  hasRows: boolean;
  /**
   * Protocol 3: count the rows left in this first download (a client that
   * lost its estimate, e.g. after a reload, or passed a capped one). The
   * first page of a first download is counted without asking.
   */
  estimate?: boolean | undefined;
}

/**
 * Protocol 3: how many entries (rows, tombstones, out-of-scope ids) a first
 * download of a table has left to send, counted in the caller's scope from
 * the page's start, this page included. Counting stops at
 * {@link MAX_REMAINING_COUNT}: then `atLeast` is true and there may be more.
 */
export interface RemainingEstimate {
  rows: number;
  atLeast: boolean;
}

/** Body of `<group>.download`. */
export interface DownloadRequest {
  protocol: ProtocolVersion;
  clientId: string;
  /**
   * The identity of the client's config (`configIdentity(config)`, protocol
   * 3); absent: the config from before configs had identities.
   */
  config?: string | undefined;
  /** Tables of the group to download; a table left out is skipped. */
  tables: Record<string, DownloadTableRequest>;
  /** Rows per table in this page (at most MAX_PAGE_SIZE). */
  pageSize?: number | undefined;
  /**
   * A WAL position (`pg_lsn` text, e.g. `0/16B3748`) the answer must include
   * (protocol 2): a change the client was told of. A streaming standby reads
   * the page only once it has replayed that far (waiting a little), else the
   * primary does.
   */
  after?: string | undefined;
}

/** One table's part of a download page. */
export interface DownloadTablePage {
  /** Synced column names, in the order of each row's values. */
  columns: string[];
  /** Writer ids the rows' stamps point into, by index. */
  clients: string[];
  rows: DownloadRow[];
  /** Ids of rows deleted since the cursor, sent without their values. */
  tombstones: string[];
  /** Ids of rows that no longer pass the group's filter. */
  outOfScope: string[];
  /** The cursor to send next time. */
  cursor: string;
  /** More pages of this table remain. */
  hasMore: boolean;
  /** The cursor sent was not accepted (group changed, other user): this is a first download. */
  reset: boolean;
  /**
   * With `reset`: the cursor came from another database history (the
   * server failed over to a standby that had not all its writes). The rows
   * of this reset pass replace the replica's clean values, even newer ones
   * and deletions, which the lost history held and this one never had.
   * Absent otherwise (older clients ignore it).
   */
  authoritative?: true;
  /**
   * A catch-up page (protocol 3, after the client's config gained columns):
   * `columns` are only the new ones; apply them to rows the replica holds,
   * and ignore rows it does not hold. Absent otherwise.
   */
  catchUp?: true;
  /**
   * Protocol 3, in a first download only: the entries left, counted on the
   * pass's first page (and again when the client asks with `estimate`).
   */
  remaining?: RemainingEstimate;
}

/** Answer of `<group>.download`. */
export interface DownloadResponse {
  protocol: ProtocolVersion;
  /** Server time in milliseconds since the epoch (PostgreSQL's clock). */
  serverTime: number;
  tables: Record<string, DownloadTablePage>;
  /** Some table has more pages. */
  hasMore: boolean;
}

/** One column of an uploaded row: its value and its write time. */
export interface UploadColumn {
  value: JsonValue;
  t: number;
}

/** One uploaded row: a full row for an insert, the dirty columns for an update. */
export interface UploadRow {
  op: 'insert' | 'update';
  id: string;
  columns: Record<string, UploadColumn>;
}

/** Body of `<group>.upload`. */
export interface UploadRequest {
  protocol: ProtocolVersion;
  clientId: string;
  /** The identity of the client's config, as in {@link DownloadRequest}. */
  config?: string | undefined;
  tables: Record<string, UploadRow[]>;
}

/** A column's value and stamp on the server, in a protocol 3 upload answer. */
export interface ServerColumn {
  value: JsonValue;
  t: number;
  c: string;
}

/**
 * Protocol 3's OK for an uploaded row, lean: the client already holds what
 * it sent. A column the row carried and whose write the server holds (the
 * stamp it sent, with the request's client id) is answered by its absence.
 * `others` gives the server's value and stamp of every other stamped synced
 * column: where the client's write lost, or that the row did not carry.
 *
 * @example
 * ```ts
 * // name lost to device-2's newer write; every other column is the client's
 * const ok: LeanRowResult = { id: 'c1', ok: true, others: { name: { value: 'Bea', t: 1764085205000017, c: 'device-2' } } };
 * ```
 */
export interface LeanRowResult {
  id: string;
  ok: true;
  /** The server's columns that are not this row's writes, by name; absent when there are none. */
  others?: Record<string, ServerColumn>;
  /** The row's last-synced-at, when it is not the table's `syncedAt` (a row the upload did not write). */
  syncedAt?: string;
}

/**
 * The server's answer for one uploaded row: OK with the row as the server
 * holds it (versions 1 and 2: the whole row; 3: {@link LeanRowResult}), or
 * its error code.
 */
export type UploadRowResult =
  | { id: string; ok: true; row: WireRow }
  | LeanRowResult
  | { id: string; ok: false; code: RowErrorCode; message: string };

/** One table's part of an upload answer, in the order of the request's rows. */
export interface UploadTableResult {
  columns: string[];
  results: UploadRowResult[];
  /**
   * Protocol 3: the last-synced-at (server time, ISO) of the OK rows that
   * do not give their own: an upload writes its rows in one transaction,
   * so they share it.
   */
  syncedAt?: string;
}

/** Answer of `<group>.upload`. */
export interface UploadResponse {
  protocol: ProtocolVersion;
  serverTime: number;
  tables: Record<string, UploadTableResult>;
}

/** A checked upload row: decoded values and write times of the columns it carries. */
export type CheckedUploadRow =
  | {
      ok: true;
      op: 'insert' | 'update';
      id: string;
      /** Decoded values by column name (only the columns the row carries). */
      values: Record<string, unknown>;
      /** Wire values by column name. */
      wire: Record<string, JsonValue>;
      /** Write time of each carried column. */
      times: Record<string, number>;
    }
  | { ok: false; code: 'invalid_value'; message: string };

/**
 * Checks one uploaded row's columns against its table: every column known
 * and synced, every value valid, an insert carrying every required column.
 *
 * @example
 * ```ts
 * const checked = checkUploadRow(group.table.phone_book, row);
 * if (!checked.ok) results.push({ id: row.id, ok: false, code: checked.code, message: checked.message });
 * ```
 */
export function checkUploadRow(entry: ResolvedGroupTable, row: UploadRow): CheckedUploadRow {
  const { table } = entry;
  const values: Record<string, unknown> = {};
  const wire: Record<string, JsonValue> = {};
  const times: Record<string, number> = {};
  const fail = (message: string): CheckedUploadRow => ({
    ok: false,
    code: 'invalid_value',
    message: `${table.key} ${row.id}: ${message}`,
  });
  if (!isStorableText(row.id)) return fail('the id holds a NUL character or a lone surrogate');
  for (const [name, column] of Object.entries(row.columns)) {
    const def = table.column[name];
    if (!def || (def.role !== 'data' && def.role !== 'isDeleted')) {
      return fail(
        def
          ? `column "${name}" is managed by Carburetor and cannot be uploaded`
          : `unknown column ${describeValue(name)}`,
      );
    }
    const check = checkWireValue(def, column.value);
    if (!check.ok) return fail(check.message);
    values[name] = check.value;
    wire[name] = check.wire;
    times[name] = column.t;
  }
  if (row.op === 'insert') {
    for (const def of table.dataColumns) {
      if (
        !(def.name in values) &&
        !def.nullable &&
        def.default?.kind !== 'value' &&
        def.default?.kind !== 'now'
      ) {
        return fail(`an insert needs column "${def.name}"`);
      }
    }
  } else if (Object.keys(values).length === 0) {
    return fail('an update carries no columns');
  }
  return { ok: true, op: row.op, id: row.id, values, wire, times };
}

/**
 * Input of `<group>.changes` (a subscription). A client that says
 * `protocol: 2` gets pushed pages; without it (protocol 1) only pokes.
 */
export interface ChangesInput {
  protocol: ProtocolVersion;
  /** The identity of the client's config, as in {@link DownloadRequest}. */
  config?: string | undefined;
}

/**
 * One table's rows pushed over a subscription: a download page (as
 * `<group>.download` answers it, never with more pages or a reset) that
 * continues any cursor of the same fingerprint whose floor is at least
 * `from`, and advances it to `cursor`.
 */
export interface PushedPage extends DownloadTablePage {
  /** The floor the page starts from (a decimal transaction id): a cursor below it has a gap. */
  from: string;
}

/**
 * What `<group>.changes` sends: the tables of the group whose rows changed,
 * and (protocol 2) the pages of those it could push. A table named without a
 * page, or whose page does not continue the client's cursor, is downloaded.
 */
export interface ChangesEvent {
  tables: string[];
  /** Pushed pages by table key (protocol 2). */
  pages?: Record<string, PushedPage>;
  /** Server time of the pages, in milliseconds since the epoch. */
  serverTime?: number;
  /**
   * The primary's WAL position when the event was made, where a table is to
   * be downloaded: send it as the download's `after`.
   */
  lsn?: string;
}
