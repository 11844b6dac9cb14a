import type { JsonValue } from '../config/column-types.ts';
import { timestampFromMicros } from '../config/timestamp.ts';
import {
  DOWNLOAD_ROW,
  type DownloadRow,
  type DownloadTablePage,
  downloadRowStampAt,
  type WireMetadata,
  type WireRow,
} from './messages.ts';

/** What a download row says once its differences are resolved. */
export interface ReadDownloadRow {
  id: string;
  /** When the server last wrote the row, canonical text; null when it was not sent. */
  lastSyncedAt: string | null;
  /** The synced values, in the order of the page's `columns`. */
  values: JsonValue[];
  metadata: WireMetadata;
}

/**
 * Reads the rows of one download page, in page order: each row's times are
 * differences from the rows before it (see {@link DownloadRow}).
 *
 * @example
 * ```ts
 * const reader = new DownloadRowReader(page);
 * for (const row of page.rows) {
 *   const { id, lastSyncedAt, values, metadata } = reader.read(row);
 * }
 * ```
 */
export class DownloadRowReader {
  readonly #columns: readonly string[];
  readonly #clients: readonly string[];
  #syncedAt: number | undefined;
  #syncedAtText: string | null = null;
  #time: number | undefined;

  constructor(page: Pick<DownloadTablePage, 'columns' | 'clients'>) {
    this.#columns = page.columns;
    this.#clients = page.clients;
  }

  /** The next row of the page. */
  read(row: DownloadRow): ReadDownloadRow {
    const count = this.#columns.length;
    // Differences first: a row whose time cannot be formatted (it throws)
    // still moves the reader on, so the rows after it read right.
    const metadata = this.#metadata(row, count);
    return {
      id: row[DOWNLOAD_ROW.id],
      lastSyncedAt: this.#lastSyncedAt(row[DOWNLOAD_ROW.syncedAt]),
      values: row.slice(DOWNLOAD_ROW.values, DOWNLOAD_ROW.values + count) as JsonValue[],
      metadata,
    };
  }

  #lastSyncedAt(sent: number | null): string | null {
    if (typeof sent !== 'number') return null;
    const micros = this.#syncedAt === undefined ? sent : this.#syncedAt + sent;
    const previous = this.#syncedAt;
    this.#syncedAt = micros;
    // Rows written together share it: format each time once.
    if (micros !== previous || this.#syncedAtText === null) {
      this.#syncedAtText = null;
      this.#syncedAtText = timestampFromMicros(micros);
    }
    return this.#syncedAtText;
  }

  #metadata(row: DownloadRow, count: number): WireMetadata {
    const metadata: WireMetadata = {};
    for (let i = 0, at = downloadRowStampAt(count, 0); i < count; i++, at += 2) {
      const sent = row[at];
      const c = row[at + 1];
      if (typeof sent !== 'number' || typeof c !== 'number') continue;
      const t = this.#time === undefined ? sent : this.#time + sent;
      this.#time = t;
      const client = this.#clients[c];
      if (client !== undefined) metadata[this.#columns[i]!] = { t, c: client };
    }
    return metadata;
  }
}

/**
 * A download page's rows as {@link WireRow}s: id, last-synced-at, metadata, values.
 *
 * @example
 * ```ts
 * const rows = downloadRowsToWire(page);
 * ```
 */
export function downloadRowsToWire(
  page: Pick<DownloadTablePage, 'columns' | 'clients' | 'rows'>,
): WireRow[] {
  const reader = new DownloadRowReader(page);
  return page.rows.map((row) => {
    const { id, lastSyncedAt, values, metadata } = reader.read(row);
    return [id, lastSyncedAt ?? '', metadata, ...values];
  });
}
