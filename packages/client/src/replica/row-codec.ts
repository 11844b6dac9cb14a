import {
  type ClientColumnMetadata,
  decodeColumnMetadata,
  encodeColumnMetadata,
  isDeleted,
  type ResolvedColumn,
  type ResolvedTable,
} from '@carburetor/core';
import { compareCodePoints } from '../driver/binary-collation.ts';
import type { SqliteExecutor, SqliteStatement, SqliteValue } from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';
import { quote } from '../schema/names.ts';

/** A row of the replica, decoded: app values by column, metadata and dirty flag. */
export interface StoredRow {
  id: string;
  /** Synced columns and last-synced-at, as app values. */
  values: Record<string, unknown>;
  metadata: ClientColumnMetadata;
  dirty: 'insert' | 'update' | null;
}

/** A replica row that cannot be read: what its dirty flag says, and why (the decoder's words). */
export interface CorruptRow {
  id: string;
  dirty: 'insert' | 'update' | null;
  message: string;
}

/** An app value → what SQLite stores for the column. */
export function toStored(column: ResolvedColumn, value: unknown): SqliteValue {
  if (value === null || value === undefined) return null;
  if (column.role === 'isDeleted') return isDeleted(value) ? 1 : 0;
  if (column.role !== 'data') return value as SqliteValue;
  return column.type.toSqlite(value as never);
}

/** What SQLite returned for the column → the app value. */
export function fromStored(column: ResolvedColumn, raw: unknown): unknown {
  if (raw === null || raw === undefined) return null;
  if (column.role === 'isDeleted') return Number(raw) !== 0;
  if (column.role !== 'data') return raw;
  return column.type.fromSqlite(raw);
}

/** The columns a stored row carries values for: synced columns and last-synced-at. */
export function valueColumns(table: ResolvedTable): string[] {
  return [...table.syncedColumns, table.lastSyncedAt];
}

/**
 * What every read and write of a table's rows repeats, built once per table:
 * building the same SQL text per row cost as much as running it.
 */
interface TableCodec {
  /** {@link valueColumns}, resolved. */
  readonly values: readonly ResolvedColumn[];
  /** Whether a row's id lies between two ids. */
  readonly anyBetween: string;
  /** The head of a select by ids, up to `IN (`. */
  readonly selectHead: string;
  /** Select-by-ids SQL by how many ids it binds. */
  readonly selects: Map<number, string>;
  /** Upsert SQL by how many rows it writes. */
  readonly upserts: Map<number, string>;
  /** Bulk-insert SQL (one shared metadata parameter) by how many rows it writes. */
  readonly inserts: Map<number, string>;
  readonly upsertHead: string;
  readonly upsertRow: string;
  readonly upsertTail: string;
  /** How many rows one upsert statement writes at most (a power of two). */
  readonly rowsPerUpsert: number;
}

const codecs = new WeakMap<ResolvedTable, TableCodec>();

/**
 * Bound parameters one upsert statement may take. Far below SQLite's limit
 * (32766): past a few dozen rows a longer statement no longer pays.
 */
const UPSERT_PARAMS = 1024;
const MAX_UPSERT_ROWS = 64;

function codecOf(table: ResolvedTable): TableCodec {
  let codec = codecs.get(table);
  if (codec) return codec;
  const names = [table.id, ...valueColumns(table), table.columnSyncMetadata, table.dirtyFlag];
  const quoted = names.map(quote);
  const updates = quoted
    .slice(1)
    .map((n) => `${n} = excluded.${n}`)
    .join(', ');
  let rowsPerUpsert = 1;
  while (
    rowsPerUpsert * 2 <= MAX_UPSERT_ROWS &&
    rowsPerUpsert * 2 * names.length <= UPSERT_PARAMS
  ) {
    rowsPerUpsert *= 2;
  }
  const id = quote(table.id);
  codec = {
    anyBetween: `SELECT EXISTS (SELECT 1 FROM ${quote(table.sqlName)} WHERE ${id} >= ? AND ${id} <= ?) AS e`,
    values: valueColumns(table).map((name) => table.column[name]!),
    selectHead: `SELECT ${quoted.join(', ')} FROM ${quote(table.sqlName)} WHERE ${id} IN (`,
    selects: new Map(),
    upserts: new Map(),
    inserts: new Map(),
    upsertHead: `INSERT INTO ${quote(table.sqlName)} (${quoted.join(', ')}) VALUES `,
    upsertRow: `(${names.map(() => '?').join(', ')})`,
    upsertTail: ` ON CONFLICT (${id}) DO UPDATE SET ${updates}`,
    rowsPerUpsert,
  };
  codecs.set(table, codec);
  return codec;
}

function upsertSql(codec: TableCodec, rows: number): string {
  let sql = codec.upserts.get(rows);
  if (sql === undefined) {
    sql = `${codec.upsertHead}${Array(rows).fill(codec.upsertRow).join(', ')}${codec.upsertTail}`;
    codec.upserts.set(rows, sql);
  }
  return sql;
}

/** `INSERT` of `rows` new rows whose metadata is parameter 1 and whose dirty flag is `insert`. */
function insertSql(codec: TableCodec, rows: number): string {
  let sql = codec.inserts.get(rows);
  if (sql === undefined) {
    const perRow = codec.values.length + 1;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const at = 2 + r * perRow;
      const params = Array.from({ length: perRow }, (_, k) => `?${at + k}`);
      tuples.push(`(${params.join(', ')}, ?1, 'insert')`);
    }
    sql = `${codec.upsertHead}${tuples.join(', ')}`;
    codec.inserts.set(rows, sql);
  }
  return sql;
}

/**
 * Lookups by id bind this many ids (a power of eight), the last ones null
 * when fewer are asked for: a handful of SQL texts, each prepared once.
 */
const SELECT_SIZES = [1, 8, 64, 512, 4096] as const;

function selectSql(codec: TableCodec, size: number): string {
  let sql = codec.selects.get(size);
  if (sql === undefined) {
    sql = `${codec.selectHead}${Array(size).fill('?').join(', ')})`;
    codec.selects.set(size, sql);
  }
  return sql;
}

function dirtyOf(raw: unknown): 'insert' | 'update' | null {
  return raw === 'insert' || raw === 'update' ? raw : null;
}

/**
 * Decodes one SQLite row of `table` (selected with every column).
 *
 * @throws {CarburetorClientError} `corrupt_row` when its metadata or a value
 * cannot be read (written behind the client's back).
 */
export function decodeStoredRow(table: ResolvedTable, row: Record<string, unknown>): StoredRow {
  const id = String(row[table.id]);
  try {
    const values: Record<string, unknown> = {};
    for (const column of codecOf(table).values) {
      values[column.name] = fromStored(column, row[column.name]);
    }
    return {
      id,
      values,
      metadata: decodeColumnMetadata(row[table.columnSyncMetadata], `${table.sqlName} row ${id}`),
      dirty: dirtyOf(row[table.dirtyFlag]),
    };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CarburetorClientError(
      'corrupt_row',
      `${table.key} ${id} cannot be read from the replica (${reason}); client.discard(${JSON.stringify(id)}) replaces it with the server's version.`,
      { table: table.key, cause },
    );
  }
}

/** Whether `a` sorts before `b` as SQLite's BINARY collation orders them (UTF-8 bytes). */
export function sortsBefore(a: string, b: string): boolean {
  return compareCodePoints(a, b) < 0;
}

/** A UTF-16 surrogate: only there can `<` and code point order disagree. */
const SURROGATE = /[\uD800-\uDFFF]/;
const lessThan = (a: string, b: string) => a < b;

/**
 * Whether the table holds any row whose id lies between the least and the
 * greatest of `ids`: one index probe that spares the lookup of a page of new
 * rows (a first download, whose ids follow those of the pages before).
 */
async function holdsAnyBetween(
  ex: SqliteExecutor,
  table: ResolvedTable,
  ids: readonly string[],
): Promise<boolean> {
  // Without surrogates (nearly always) `<` orders as SQLite does, and costs a tenth of sortsBefore.
  const before = ids.some((id) => SURROGATE.test(id)) ? sortsBefore : lessThan;
  let least = ids[0]!;
  let greatest = least;
  for (const id of ids) {
    if (before(id, least)) least = id;
    else if (before(greatest, id)) greatest = id;
  }
  const result = await ex.execute(codecOf(table).anyBetween, [least, greatest]);
  return Number(result.rows[0]?.['e']) === 1;
}

/**
 * Reads the rows with these ids, keyed by id (missing ids are absent). A row
 * that cannot be read throws `corrupt_row`, or, when `corrupt` is given,
 * goes there instead of into the result.
 */
export async function readRows(
  ex: SqliteExecutor,
  table: ResolvedTable,
  ids: readonly string[],
  corrupt?: Map<string, CorruptRow>,
): Promise<Map<string, StoredRow>> {
  const codec = codecOf(table);
  const out = new Map<string, StoredRow>();
  if (ids.length > SELECT_SIZES[1] && !(await holdsAnyBetween(ex, table, ids))) return out;
  const largest = SELECT_SIZES[SELECT_SIZES.length - 1]!;
  for (let i = 0; i < ids.length; i += largest) {
    const chunk = ids.slice(i, i + largest);
    // Unbound parameters are null, which matches no id.
    const size = SELECT_SIZES.find((s) => s >= chunk.length) ?? largest;
    const result = await ex.execute(selectSql(codec, size), chunk);
    for (const row of result.rows) {
      if (!corrupt) {
        const decoded = decodeStoredRow(table, row);
        out.set(decoded.id, decoded);
        continue;
      }
      try {
        const decoded = decodeStoredRow(table, row);
        out.set(decoded.id, decoded);
      } catch (error) {
        const id = String(row[table.id]);
        const cause = error instanceof Error ? error.cause : undefined;
        const message = cause instanceof Error ? cause.message : String(error);
        corrupt.set(id, { id, dirty: dirtyOf(row[table.dirtyFlag]), message });
      }
    }
  }
  return out;
}

function pushParams(params: SqliteValue[], codec: TableCodec, row: StoredRow): void {
  params.push(row.id);
  for (const column of codec.values) params.push(toStored(column, row.values[column.name]));
  params.push(encodeColumnMetadata(row.metadata), row.dirty);
}

/** A statement that writes a whole stored row (insert or replace every column Carburetor owns). */
export function upsertStatement(table: ResolvedTable, row: StoredRow): SqliteStatement {
  const codec = codecOf(table);
  const params: SqliteValue[] = [];
  pushParams(params, codec, row);
  return { sql: upsertSql(codec, 1), params };
}

/**
 * Statements that write these whole stored rows, in order, several rows a
 * statement: per-statement work in the engine costs as much as a row's.
 * Statement sizes are powers of two, so a table has a handful of SQL texts.
 * Give each id once: a later row of the same id would update the earlier.
 */
export function upsertStatements(
  table: ResolvedTable,
  rows: readonly StoredRow[],
): SqliteStatement[] {
  return [...upsertStatementsOf(table, rows)];
}

/**
 * {@link upsertStatements}, each made as it is taken: a page written a
 * slice at a time keeps only that slice's parameters alive (metadata texts
 * of a whole page, alive through the page, made its garbage collection
 * copy them).
 */
export function upsertStatementsOf(
  table: ResolvedTable,
  rows: readonly StoredRow[],
): Generator<SqliteStatement> {
  const codec = codecOf(table);
  return inChunks(rows, codec.rowsPerUpsert, (chunk) => {
    const params: SqliteValue[] = [];
    for (const row of chunk) pushParams(params, codec, row);
    return { sql: upsertSql(codec, chunk.length), params };
  });
}

/** `rows` cut into chunks of `max` rows, then halves of it (powers of two: a handful of SQL texts), each made a statement. */
function* inChunks(
  rows: readonly StoredRow[],
  max: number,
  statement: (chunk: readonly StoredRow[]) => SqliteStatement,
): Generator<SqliteStatement> {
  let size = max;
  for (let i = 0; i < rows.length; ) {
    while (size > rows.length - i) size /= 2;
    yield statement(rows.slice(i, i + size));
    i += size;
  }
}

/**
 * Statements that insert new rows (a bulk insert: every row's dirty flag is
 * `insert` and its metadata `metadata`, one write time for all), several
 * rows a statement: the metadata text is bound once a statement, not once a
 * row. The ids must be new: this is a plain INSERT.
 */
export function insertStatements(
  table: ResolvedTable,
  rows: readonly StoredRow[],
  metadata: string,
): SqliteStatement[] {
  const codec = codecOf(table);
  return [
    ...inChunks(rows, codec.rowsPerUpsert, (chunk) => {
      const params: SqliteValue[] = [metadata];
      for (const row of chunk) {
        params.push(row.id);
        for (const column of codec.values) params.push(toStored(column, row.values[column.name]));
      }
      return { sql: insertSql(codec, chunk.length), params };
    }),
  ];
}

/** The app's view of a stored row: id, data columns, deleted flag, last-synced-at. */
export function appRow(table: ResolvedTable, row: StoredRow): Record<string, unknown> {
  const out: Record<string, unknown> = { [table.id]: row.id };
  for (const column of table.dataColumns) out[column.name] = row.values[column.name] ?? null;
  out[table.isDeleted] = isDeleted(row.values[table.isDeleted]);
  out[table.lastSyncedAt] = row.values[table.lastSyncedAt] ?? null;
  return out;
}
