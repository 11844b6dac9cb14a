import { CarburetorError } from '../errors.ts';
import { normalizeTimestamp } from './timestamp.ts';

/** The PostgreSQL types a synced column may have. */
export type ColumnKind =
  | 'text'
  | 'boolean'
  | 'integer'
  | 'bigint'
  | 'double'
  | 'numeric'
  | 'date'
  | 'timestamptz'
  | 'jsonb'
  | 'uuid'
  | 'bytea';

/** JSON as it travels on the wire and sits in a jsonb column. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** The TypeScript value of each column kind (jsonb is refined with `$type<T>()`). */
export interface ColumnKindValues {
  text: string;
  boolean: boolean;
  integer: number;
  /** Decimal digits as a string: a JS number would lose digits past 2^53. */
  bigint: string;
  double: number;
  /** Decimal as a string, to keep every digit. */
  numeric: string;
  /** `YYYY-MM-DD`. */
  date: string;
  /** ISO 8601 in UTC with six fractional digits: `2026-11-25T15:41:05.123456Z`. */
  timestamptz: string;
  jsonb: JsonValue;
  /** Lowercase canonical form. */
  uuid: string;
  bytea: Uint8Array;
}

/** How one column kind is stored and carried everywhere. */
export interface ColumnTypeInfo<K extends ColumnKind = ColumnKind> {
  kind: K;
  /** Type in PostgreSQL DDL. */
  pg: string;
  /** Storage class in the SQLite replica. */
  sqlite: 'TEXT' | 'INTEGER' | 'REAL' | 'BLOB';
  /** TypeScript type, for documentation and error messages. */
  ts: string;
  /** Checks a value in its wire form (JSON): an error message, or undefined when valid. */
  checkWire(wire: unknown): string | undefined;
  /** Value → JSON-safe wire form. */
  toWire(value: ColumnKindValues[K]): JsonValue;
  /** Wire form (already validated) → value. */
  fromWire(wire: JsonValue): ColumnKindValues[K];
  /** Value → what SQLite stores. */
  toSqlite(value: ColumnKindValues[K]): string | number | bigint | Uint8Array;
  /** What SQLite returns → value. */
  fromSqlite(stored: unknown): ColumnKindValues[K];
  /** What the server's PostgreSQL driver returns (exact-value parsers) → value. */
  fromPg(raw: unknown): ColumnKindValues[K];
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// Canonical forms only (no leading zeros, no negative zero): PostgreSQL would
// store 007 as 7, and a replica keeping "007" would differ from everyone else.
const INT64 = /^(0|-?[1-9]\d{0,18})$/;
const NUMERIC = /^-?(0|[1-9]\d*)(\.\d+)?$/;
// PostgreSQL's numeric: at most 131,072 digits before the point, 16,383 after.
const NUMERIC_WHOLE_DIGITS = 131_072;
const NUMERIC_FRACTION_DIGITS = 16_383;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// Plain checks rather than schemas: they run on every value of every upload.
const expect = (ok: boolean, message: string) => (ok ? undefined : message);

// PostgreSQL text and jsonb cannot hold NUL, and UTF-8 cannot hold a lone surrogate.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string PostgreSQL can store: no NUL character, no lone surrogate. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

function checkText(wire: unknown) {
  if (typeof wire !== 'string') return 'expected text';
  return expect(isStorableText(wire), 'text cannot hold a NUL character or a lone surrogate');
}

function isJson(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (typeof value === 'string') return isStorableText(value);
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJson(item, depth + 1));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.entries(value).every(
      ([key, item]) => isStorableText(key) && isJson(item, depth + 1),
    );
  }
  return false;
}

function checkBigint(wire: unknown) {
  if (typeof wire !== 'string' || !INT64.test(wire))
    return 'expected a 64-bit integer as a decimal string';
  const n = BigInt(wire);
  return expect(n >= INT64_MIN && n <= INT64_MAX, 'out of the 64-bit integer range');
}

function checkNumeric(wire: unknown) {
  if (typeof wire !== 'string' || !NUMERIC.test(wire)) {
    return 'expected a decimal number as a string without leading zeros, e.g. "12.50"';
  }
  const unsigned = wire.startsWith('-') ? wire.slice(1) : wire;
  const point = unsigned.indexOf('.');
  const whole = point === -1 ? unsigned.length : point;
  const fraction = point === -1 ? 0 : unsigned.length - point - 1;
  if (wire.startsWith('-') && /^[0.]+$/.test(unsigned))
    return 'negative zero; write it without the sign';
  if (whole > NUMERIC_WHOLE_DIGITS) {
    return `${whole} digits before the point, over PostgreSQL's ${NUMERIC_WHOLE_DIGITS}`;
  }
  return expect(
    fraction <= NUMERIC_FRACTION_DIGITS,
    `${fraction} digits after the point, over PostgreSQL's ${NUMERIC_FRACTION_DIGITS}`,
  );
}

/**
 * Decimal text in canonical form (leading zeros and the sign of zero
 * dropped, trailing zeros kept: PostgreSQL keeps the scale). Anything that
 * is not decimal text is returned as it is, for the check to refuse.
 */
function canonicalDecimal(text: string): string {
  const m = /^(-?)0*(\d+?)((?:\.\d+)?)$/.exec(text);
  if (!m) return text;
  const [, sign, whole, fraction] = m;
  const zero = /^[0.]*$/.test(`${whole}${fraction}`);
  return `${zero ? '' : sign}${whole}${fraction}`;
}

/** -0 as 0: JSON, and so every other replica, cannot tell them apart. */
const withoutNegativeZero = (n: number) => (n === 0 ? 0 : n);

function checkDate(wire: unknown) {
  if (typeof wire !== 'string' || !DATE.test(wire)) return 'expected a date as YYYY-MM-DD';
  const d = new Date(`${wire}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || !d.toISOString().startsWith(wire)) return 'not a calendar date';
  // PostgreSQL has no year 0 (1 BC comes before 0001).
  return expect(!wire.startsWith('0000'), 'outside the years 0001-9999');
}

function checkTimestamp(wire: unknown) {
  const message =
    'expected an ISO 8601 timestamp with a time zone, e.g. 2026-11-25T15:41:05.123456Z';
  if (typeof wire !== 'string') return message;
  try {
    normalizeTimestamp(wire);
    return undefined;
  } catch {
    return message;
  }
}

const identity = <T>(value: T): T => value;

function fail(kind: ColumnKind, raw: unknown): never {
  throw new CarburetorError(
    'invalid_value',
    `Cannot read ${typeof raw} ${JSON.stringify(String(raw)).slice(0, 60)} as a ${kind} column value.`,
  );
}

function asString(kind: ColumnKind, raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  return fail(kind, raw);
}

/** Base64 without Node's Buffer, so core stays isomorphic. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The inverse of {@link bytesToBase64}. */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toBytes(kind: ColumnKind, raw: unknown): Uint8Array {
  if (raw instanceof Uint8Array) return new Uint8Array(raw);
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  if (typeof raw === 'string' && raw.startsWith('\\x')) {
    const hex = raw.slice(2);
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return out;
  }
  return fail(kind, raw);
}

function toJson(kind: ColumnKind, raw: unknown): JsonValue {
  if (typeof raw === 'string') {
    try {
      return JSON.parse(raw) as JsonValue;
    } catch (cause) {
      throw new CarburetorError('invalid_value', `Stored ${kind} value is not JSON.`, { cause });
    }
  }
  return raw as JsonValue;
}

function toBoolean(kind: ColumnKind, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === 0 || raw === 1 || raw === 0n || raw === 1n) return Number(raw) === 1;
  return fail(kind, raw);
}

function toNumber(kind: ColumnKind, raw: unknown): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'bigint' || (typeof raw === 'string' && raw.trim() !== '')) {
    const n = Number(raw);
    if (!Number.isNaN(n)) return n;
  }
  return fail(kind, raw);
}

/**
 * The type mapping, in one table: config type → PostgreSQL type, SQLite
 * storage, TypeScript type and wire encoding. Every adapter converts through
 * it, so a value round-trips exactly (timestamps keep microseconds, bigint and
 * numeric keep every digit).
 *
 * @example
 * ```ts
 * columnTypes.timestamptz.fromPg('2026-11-25 15:41:05.1234+00'); // '2026-11-25T15:41:05.123400Z'
 * columnTypes.bytea.toWire(new Uint8Array([1, 2])); // 'AQI='
 * ```
 */
export const columnTypes: { readonly [K in ColumnKind]: ColumnTypeInfo<K> } = {
  text: {
    kind: 'text',
    pg: 'text',
    sqlite: 'TEXT',
    ts: 'string',
    checkWire: checkText,
    toWire: identity,
    fromWire: (w) => w as string,
    toSqlite: identity,
    fromSqlite: (raw) => asString('text', raw),
    fromPg: (raw) => asString('text', raw),
  },
  boolean: {
    kind: 'boolean',
    pg: 'boolean',
    sqlite: 'INTEGER',
    ts: 'boolean',
    checkWire: (w) => expect(typeof w === 'boolean', 'expected true or false'),
    toWire: identity,
    fromWire: (w) => w as boolean,
    toSqlite: (v) => (v ? 1 : 0),
    fromSqlite: (raw) => toBoolean('boolean', raw),
    fromPg: (raw) => toBoolean('boolean', raw),
  },
  integer: {
    kind: 'integer',
    pg: 'integer',
    sqlite: 'INTEGER',
    ts: 'number',
    checkWire: (w) =>
      expect(
        typeof w === 'number' && Number.isInteger(w) && w >= INT32_MIN && w <= INT32_MAX,
        'expected a 32-bit integer',
      ),
    toWire: withoutNegativeZero,
    fromWire: (w) => w as number,
    toSqlite: identity,
    fromSqlite: (raw) => toNumber('integer', raw),
    fromPg: (raw) => toNumber('integer', raw),
  },
  bigint: {
    kind: 'bigint',
    pg: 'bigint',
    sqlite: 'INTEGER',
    ts: 'string',
    checkWire: checkBigint,
    toWire: canonicalDecimal,
    fromWire: (w) => w as string,
    toSqlite: (v) => BigInt(v),
    fromSqlite: (raw) => asString('bigint', raw),
    fromPg: (raw) => asString('bigint', raw),
  },
  double: {
    kind: 'double',
    pg: 'double precision',
    sqlite: 'REAL',
    ts: 'number',
    checkWire: (w) =>
      expect(typeof w === 'number' && Number.isFinite(w), 'expected a finite number'),
    toWire: withoutNegativeZero,
    fromWire: (w) => w as number,
    toSqlite: identity,
    fromSqlite: (raw) => toNumber('double', raw),
    fromPg: (raw) => toNumber('double', raw),
  },
  numeric: {
    kind: 'numeric',
    pg: 'numeric',
    sqlite: 'TEXT',
    ts: 'string',
    checkWire: checkNumeric,
    toWire: canonicalDecimal,
    fromWire: (w) => w as string,
    toSqlite: identity,
    fromSqlite: (raw) => asString('numeric', raw),
    fromPg: (raw) => asString('numeric', raw),
  },
  date: {
    kind: 'date',
    pg: 'date',
    sqlite: 'TEXT',
    ts: 'string',
    checkWire: checkDate,
    toWire: identity,
    fromWire: (w) => w as string,
    toSqlite: identity,
    fromSqlite: (raw) => asString('date', raw),
    fromPg: (raw) => asString('date', raw),
  },
  timestamptz: {
    kind: 'timestamptz',
    pg: 'timestamptz',
    sqlite: 'TEXT',
    ts: 'string',
    checkWire: checkTimestamp,
    toWire: (v) => normalizeTimestamp(v),
    fromWire: (w) => normalizeTimestamp(w as string),
    toSqlite: (v) => normalizeTimestamp(v),
    fromSqlite: (raw) => normalizeTimestamp(asString('timestamptz', raw)),
    fromPg: (raw) =>
      raw instanceof Date
        ? normalizeTimestamp(raw.toISOString())
        : normalizeTimestamp(asString('timestamptz', raw)),
  },
  jsonb: {
    kind: 'jsonb',
    pg: 'jsonb',
    sqlite: 'TEXT',
    ts: 'JsonValue',
    checkWire: (w) =>
      expect(
        isJson(w),
        'expected a JSON value (finite numbers, no NUL characters or lone surrogates)',
      ),
    toWire: identity,
    fromWire: identity,
    toSqlite: (v) => JSON.stringify(v),
    fromSqlite: (raw) => toJson('jsonb', raw),
    // PostgreSQL drivers hand jsonb over parsed: a string is the value, not JSON text.
    fromPg: (raw) => raw as JsonValue,
  },
  uuid: {
    kind: 'uuid',
    pg: 'uuid',
    sqlite: 'TEXT',
    ts: 'string',
    checkWire: (w) => expect(typeof w === 'string' && UUID.test(w), 'expected a UUID'),
    toWire: (v) => v.toLowerCase(),
    fromWire: (w) => (w as string).toLowerCase(),
    toSqlite: (v) => v.toLowerCase(),
    fromSqlite: (raw) => asString('uuid', raw).toLowerCase(),
    fromPg: (raw) => asString('uuid', raw).toLowerCase(),
  },
  bytea: {
    kind: 'bytea',
    pg: 'bytea',
    sqlite: 'BLOB',
    ts: 'Uint8Array',
    checkWire: (w) =>
      expect(
        typeof w === 'string' && BASE64.test(w) && w.length % 4 === 0,
        'expected bytes as base64',
      ),
    toWire: (v) => bytesToBase64(v),
    fromWire: (w) => base64ToBytes(w as string),
    toSqlite: identity,
    fromSqlite: (raw) => toBytes('bytea', raw),
    fromPg: (raw) => toBytes('bytea', raw),
  },
};

/** Every column kind, in a stable order. */
export const columnKinds = Object.keys(columnTypes) as ColumnKind[];
