import { CarburetorError } from '../errors.ts';

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)$/;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** The canonical text of a UTC time to the second, with its microseconds within that second. */
function canonical(date: Date, micros: number): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}` +
    `.${pad(micros, 6)}Z`
  );
}

/**
 * Canonical form of a timestamptz: ISO 8601 in UTC with exactly six
 * fractional digits (PostgreSQL's precision). Accepts ISO text and
 * PostgreSQL's own output (`2026-11-25 15:41:05.1234+00`). Canonical text
 * sorts chronologically, so SQLite can order by it.
 *
 * @example
 * ```ts
 * normalizeTimestamp('2026-11-25 17:41:05.1234+02'); // '2026-11-25T15:41:05.123400Z'
 * ```
 */
export function normalizeTimestamp(text: string): string {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) {
    throw new CarburetorError(
      'invalid_value',
      `"${text.slice(0, 40)}" is not a timestamp with a time zone; use ISO 8601 such as 2026-11-25T15:41:05.123456Z.`,
    );
  }
  const [, y, mo, d, h, mi, s = '0', frac = '', zone = 'Z'] = m;
  const micros = Number(`${frac}000000`.slice(0, 6));
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const local = new Date(0);
  local.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  local.setUTCHours(Number(h), Number(mi), Number(s));
  // Date.UTC rolls 2026-02-30 over into March: a changed field means the input was not a real time.
  if (
    local.getUTCFullYear() !== Number(y) ||
    local.getUTCMonth() !== Number(mo) - 1 ||
    local.getUTCDate() !== Number(d) ||
    local.getUTCHours() !== Number(h) ||
    local.getUTCMinutes() !== Number(mi) ||
    local.getUTCSeconds() !== Number(s)
  ) {
    throw new CarburetorError('invalid_value', `"${text.slice(0, 40)}" is not a valid timestamp.`);
  }
  const utc = new Date(local.getTime() - offsetMinutes * 60_000);
  // Four-digit years only: PostgreSQL has no year 0 and prints years past 9999 with
  // five digits, which would neither sort as text nor read back here.
  const year = utc.getUTCFullYear();
  if (Number(y) < 1 || year < 1 || year > 9999) {
    throw new CarburetorError(
      'invalid_value',
      `"${text.slice(0, 40)}" is outside the years 0001-9999 (in UTC) that Carburetor keeps.`,
    );
  }
  return canonical(utc, micros);
}

/**
 * The canonical text of a timestamp given in microseconds since the epoch
 * (the form download pages carry last-synced-at in).
 *
 * @throws {CarburetorError} `invalid_value` when it is not a time JavaScript can hold.
 * @example
 * ```ts
 * timestampFromMicros(1_764_085_265_123_456); // '2025-11-25T15:41:05.123456Z'
 * ```
 */
export function timestampFromMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const date = new Date(ms);
  if (!Number.isSafeInteger(micros) || Number.isNaN(date.getTime())) {
    throw new CarburetorError('invalid_value', `${micros} is not a time in microseconds.`);
  }
  return canonical(date, date.getUTCMilliseconds() * 1000 + (micros - ms * 1000));
}

/** Milliseconds since the epoch of a timestamp (the microseconds are dropped). */
export function timestampToMs(text: string): number {
  return Date.parse(normalizeTimestamp(text));
}
