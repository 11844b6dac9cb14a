import type { DownloadRow, JsonValue, ResolvedGroupTable } from '@carburetor/core';
import { type RawBuilder, sql } from 'kysely';
import { wireValueSql } from './wire-sql.ts';

/**
 * A row of a download query: cursor position (xid, id), kind, and for a
 * row with values its last-synced-at in microseconds (`l`), each synced column's wire value
 * (`v0`, `v1`, …) and stamp as text (`t0`/`c0`, …: write time and writer;
 * see `pageRowSql` for the writer).
 */
export interface PageRow {
  x: string;
  i: string;
  k: number;
  l: string | null;
  [column: string]: unknown;
}

const valueKey = (n: number) => `v${n}`;
const timeKey = (n: number) => `t${n}`;
const writerKey = (n: number) => `c${n}`;

/**
 * The select list of a page row after x, i, k: `l`, then `v`, `t`, `c` per
 * synced column. Plain columns, not one JSON value per row: the driver
 * reads short texts, and no metadata object is built in JavaScript.
 *
 * A writer is sent only where it differs from the previous column's (null
 * otherwise; '' for none): rows mostly have one writer, and every text the
 * driver reads costs time and garbage.
 */
export function pageRowSql(entry: ResolvedGroupTable): RawBuilder<unknown> {
  const { table } = entry;
  const metadata = sql.ref(table.columnSyncMetadata);
  const items: RawBuilder<unknown>[] = [sql`${microsSql(table.lastSyncedAt)} as l`];
  const columns = table.syncedColumns;
  columns.forEach((name, n) => {
    const stamp = sql`${metadata} -> ${sql.lit(name)}`;
    items.push(
      sql`${wireValueSql(table.column[name]!)} as ${sql.ref(valueKey(n))}`,
      sql`${stamp} ->> 't' as ${sql.ref(timeKey(n))}`,
      n === 0
        ? sql`${stamp} ->> 'c' as ${sql.ref(writerKey(n))}`
        : sql`nullif(coalesce(${stamp} ->> 'c', ''), ${metadata} -> ${sql.lit(columns[n - 1]!)} ->> 'c') as ${sql.ref(writerKey(n))}`,
    );
  });
  return sql.join(items);
}

/**
 * A timestamptz as microseconds since the epoch (null for ±infinity),
 * exact on every PostgreSQL with xid8 (13 and up, where `extract` still
 * returns a float).
 */
function microsSql(name: string): RawBuilder<unknown> {
  const ref = sql.ref(name);
  return sql`case when isfinite(${ref}) then extract(epoch from date_trunc('second', ${ref}))::int8 * 1000000 + extract(microseconds from ${ref})::int8 % 1000000 end`;
}

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
  #syncedAt: number | undefined;
  #time: number | undefined;

  constructor(columnCount: number) {
    const keys = Array.from({ length: columnCount }, (_, n) => n);
    this.#values = keys.map(valueKey);
    this.#times = keys.map(timeKey);
    this.#writers = keys.map(writerKey);
  }

  row(row: PageRow): DownloadRow {
    const count = this.#values.length;
    const out = new Array<JsonValue>(2 + 3 * count);
    out[0] = row.i;
    const syncedAt = row.l === null ? null : Number(row.l);
    out[1] =
      syncedAt === null || this.#syncedAt === undefined ? syncedAt : syncedAt - this.#syncedAt;
    if (syncedAt !== null) this.#syncedAt = syncedAt;
    let writer: unknown; // this column's writer id, as sent or carried from the previous column
    let indexed: unknown; // the writer whose index is `index`
    let index = 0;
    for (let n = 0; n < count; n++) {
      out[2 + n] = row[this.#values[n]!] as JsonValue;
      const at = 2 + count + 2 * n;
      const sent = row[this.#writers[n]!];
      if (n === 0 || sent !== null) writer = sent;
      const t = Number(row[this.#times[n]!] ?? Number.NaN);
      if (Number.isSafeInteger(t) && typeof writer === 'string' && writer !== '') {
        // Columns and rows written together share their time: differences are short.
        out[at] = this.#time === undefined ? t : t - this.#time;
        this.#time = t;
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
