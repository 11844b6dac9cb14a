import { MalformedMetadataError } from '../errors.ts';
import { isValidWriteTime, type WriteStamp } from './stamp.ts';

/** The server's per-row column metadata: who wrote each column's value, and when. */
export type ServerColumnMetadata = Record<string, WriteStamp>;

/**
 * One column's entry in the client's metadata. `d: 1` marks the column dirty:
 * written locally and not yet acknowledged by the server.
 */
export type ClientColumnStamp = { t: number; c: string; d?: 1 };

/** The client's per-row column metadata. A server shape is a valid client shape. */
export type ClientColumnMetadata = Record<string, ClientColumnStamp>;

const DEFAULT_WHERE = 'column metadata';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads column metadata as stored in PostgreSQL (jsonb, already parsed) or
 * SQLite (JSON text), in the server or the client shape. Unknown fields of an
 * entry are ignored, so metadata written by a newer version still reads.
 * Returns fresh objects: the input is never shared or mutated.
 *
 * @param input JSON text, a parsed object, or `null`/`undefined`/`''` (no metadata).
 * @param where Named in error messages, e.g. `'todos row 42'`.
 * @throws {MalformedMetadataError} for text that is not JSON, a value that is
 * not an object, or an entry without a valid `t` (a non-negative safe
 * integer) and `c` (a string).
 * @example
 * ```ts
 * decodeColumnMetadata('{"title":{"t":1700000000000000,"c":"dev-1","d":1}}', 'todos row 42');
 * // { title: { t: 1700000000000000, c: 'dev-1', d: 1 } }
 * ```
 */
export function decodeColumnMetadata(
  input: unknown,
  where: string = DEFAULT_WHERE,
): ClientColumnMetadata {
  if (input === null || input === undefined || input === '') return {};
  let parsed: unknown = input;
  if (typeof input === 'string') {
    try {
      parsed = JSON.parse(input);
    } catch (cause) {
      throw new MalformedMetadataError(
        `${where}: column metadata is not valid JSON (${JSON.stringify(input.slice(0, 80))}). Expected an object like {"column":{"t":<write time>,"c":"<client id>"}}.`,
        { cause },
      );
    }
    if (parsed === null) return {};
  }
  if (!isPlainObject(parsed)) {
    throw new MalformedMetadataError(
      `${where}: column metadata must be an object of {column: {t, c}} entries, got ${describe(parsed)}.`,
    );
  }
  const out: ClientColumnMetadata = {};
  for (const column of Object.keys(parsed)) {
    if (column === '__proto__') {
      throw new MalformedMetadataError(
        `${where}: column metadata names a column "__proto__", which is not a valid column name.`,
      );
    }
    const entry = parsed[column];
    if (!isPlainObject(entry)) {
      throw new MalformedMetadataError(
        `${where}: entry for column "${column}" must be an object {t, c}, got ${describe(entry)}.`,
      );
    }
    const { t, c, d } = entry;
    if (!isValidWriteTime(t)) {
      throw new MalformedMetadataError(
        `${where}: entry for column "${column}" has ${t === undefined ? 'no write time t' : `write time t = ${JSON.stringify(t) ?? String(t)}`}; expected a non-negative safe integer.`,
      );
    }
    if (typeof c !== 'string') {
      throw new MalformedMetadataError(
        `${where}: entry for column "${column}" has ${c === undefined ? 'no client id c' : `client id c of type ${describe(c)}`}; expected a string.`,
      );
    }
    if (d === 1 || d === true) {
      out[column] = { t, c, d: 1 };
    } else if (d === undefined || d === null || d === 0 || d === false) {
      out[column] = { t, c };
    } else {
      // Guessing here could silently drop a local write (a clean column can
      // be overwritten by a download), so refuse.
      throw new MalformedMetadataError(
        `${where}: entry for column "${column}" has dirty mark d = ${JSON.stringify(d) ?? String(d)}; expected 1 or absent.`,
      );
    }
  }
  return out;
}

/**
 * Writes column metadata as JSON text with columns in sorted order, so equal
 * metadata always gives equal text. Entries keep only `t`, `c` and `d: 1`.
 *
 * @example
 * ```ts
 * encodeColumnMetadata({ b: { t: 2, c: 'x' }, a: { t: 1, c: 'y', d: 1 } });
 * // '{"a":{"t":1,"c":"y","d":1},"b":{"t":2,"c":"x"}}'
 * ```
 */
export function encodeColumnMetadata(meta: ClientColumnMetadata | ServerColumnMetadata): string {
  const columns = sortedColumns(Object.keys(meta));
  let text = '{';
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    const entry: ClientColumnStamp = meta[column]!;
    if (i > 0) text += ',';
    text += `${quoted(column)}:{"t":${entry.t},"c":${quoted(entry.c)}${entry.d === 1 ? ',"d":1}' : '}'}`;
  }
  return `${text}}`;
}

// Rows of a page share their columns and mostly their writers: the sorted
// order and the quoted names are kept from one call to the next (a download
// encodes metadata once per row, and sorting and quoting were most of it).
let lastKeys: readonly string[] = [];
let lastSorted: readonly string[] = [];
const quotes = new Map<string, string>();
/** Most names kept quoted: ids of writers are unbounded in number. */
const MAX_QUOTES = 1_024;

/** `keys` sorted, reusing the last sort when the keys are the same, in the same order. */
function sortedColumns(keys: string[]): readonly string[] {
  if (keys.length === lastKeys.length && keys.every((key, i) => key === lastKeys[i])) {
    return lastSorted;
  }
  lastKeys = keys;
  lastSorted = [...keys].sort();
  return lastSorted;
}

/** `JSON.stringify(text)`, remembered. */
function quoted(text: string): string {
  let out = quotes.get(text);
  if (out === undefined) {
    out = JSON.stringify(text);
    if (quotes.size >= MAX_QUOTES) quotes.clear();
    quotes.set(text, out);
  }
  return out;
}
