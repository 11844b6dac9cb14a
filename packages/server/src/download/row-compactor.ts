import {
  DOWNLOAD_ROW,
  type DownloadRow,
  downloadRowStampAt,
  type JsonValue,
  nonFiniteAsText,
  type ResolvedGroupTable,
} from '@carburetor/core';
import { PAGE_ROW, type PageRow, timeKey, valueKey, writerKey } from './page-row.ts';

/**
 * Turns a page's rows, in page order, into {@link DownloadRow}s: id,
 * last-synced-at (as a difference from the previous row's), values, then
 * each column's write time (as a difference from the previous write time in
 * the page) and writer index into `clients` (null, null when the column has
 * no stamp).
 */
export class RowCompactor {
  /** The page's writer ids; each gets the next index on first sight. */
  readonly clients: string[] = [];
  readonly #index = new Map<string, number>();
  readonly #values: string[];
  readonly #times: string[];
  readonly #writers: string[];
  readonly #doubles: readonly number[];
  #syncedAt: number | undefined;
  #time: number | undefined;

  /** `doubles`: the positions of double columns, whose NaN and infinities JSON cannot carry. */
  constructor(columnCount: number, doubles: readonly number[] = []) {
    const keys = Array.from({ length: columnCount }, (_, n) => n);
    this.#doubles = doubles;
    this.#values = keys.map(valueKey);
    this.#times = keys.map(timeKey);
    this.#writers = keys.map(writerKey);
  }

  row(row: PageRow): DownloadRow {
    const count = this.#values.length;
    const out = new Array<JsonValue>(DOWNLOAD_ROW.values + 3 * count);
    out[DOWNLOAD_ROW.id] = row[PAGE_ROW.id];
    const micros = row[PAGE_ROW.syncedAtMicros];
    const syncedAt = micros === null ? null : Number(micros);
    out[DOWNLOAD_ROW.syncedAt] =
      syncedAt === null || this.#syncedAt === undefined ? syncedAt : syncedAt - this.#syncedAt;
    if (syncedAt !== null) this.#syncedAt = syncedAt;
    // This column's write time and writer, carried from the previous column
    // where the query left out a stamp equal to it.
    let time = Number.NaN;
    let writer: unknown;
    let indexed: unknown; // the writer whose index is `index`
    let index = 0;
    for (let n = 0; n < count; n++) {
      out[DOWNLOAD_ROW.values + n] = row[this.#values[n]!] as JsonValue;
      const at = downloadRowStampAt(count, n);
      const sentTime = row[this.#times[n]!];
      const sentWriter = row[this.#writers[n]!];
      if (n === 0 || sentTime !== null || sentWriter !== null) {
        time = typeof sentTime === 'string' && sentTime !== '' ? Number(sentTime) : Number.NaN;
        writer = sentWriter;
      }
      if (Number.isSafeInteger(time) && typeof writer === 'string' && writer !== '') {
        // Columns and rows written together share their time: differences are short.
        out[at] = this.#time === undefined ? time : time - this.#time;
        this.#time = time;
        if (writer !== indexed) {
          indexed = writer;
          index = this.#writerIndex(writer);
        }
        out[at + 1] = index;
      } else {
        out[at] = null;
        out[at + 1] = null;
      }
    }
    // An outside write's NaN or infinity goes as text (core's rule).
    for (const n of this.#doubles) {
      out[DOWNLOAD_ROW.values + n] = nonFiniteAsText(out[DOWNLOAD_ROW.values + n]!);
    }
    return out as DownloadRow;
  }

  #writerIndex(client: string): number {
    let at = this.#index.get(client);
    if (at === undefined) {
      at = this.clients.length;
      this.clients.push(client);
      this.#index.set(client, at);
    }
    return at;
  }
}

/** A compactor of rows carrying these columns. */
export function compactorOf(table: ResolvedGroupTable['table'], columns: readonly string[]) {
  const doubles = columns.flatMap((name, n) => (table.column[name]!.kind === 'double' ? [n] : []));
  return new RowCompactor(columns.length, doubles);
}
