import { CarburetorError } from '../errors.ts';

/**
 * Who wrote a column value, and when. `t` is a hybrid-logical-clock write time
 * (`physicalMs * 1000 + counter`, see {@link writeTimeFromMs}); `c` is the
 * writer's client id, or {@link SERVER_CLIENT_ID} for plain SQL on the server.
 */
export type WriteStamp = { t: number; c: string };

/** The client id stamped on writes made by plain SQL on the server. */
export const SERVER_CLIENT_ID = 'server';

const COUNTER_SPAN = 1000;
const MAX_COUNTER = COUNTER_SPAN - 1;
/** Past this, `ms * 1000 + 999` would no longer be a safe integer (year 2255). */
const MAX_PHYSICAL_MS = Math.floor(Number.MAX_SAFE_INTEGER / COUNTER_SPAN) - 1;
const CLIENT_ID = /^[a-z0-9_-]{1,64}$/;

/**
 * Orders two stamps by write time, then by client id. Client ids are compared
 * by UTF-16 code unit, which for the ASCII ids we allow is exactly PostgreSQL's
 * `COLLATE "C"`, so JS and SQL always pick the same winner.
 *
 * @example
 * ```ts
 * compareStamps({ t: 5, c: 'a' }, { t: 5, c: 'b' }); // -1
 * ```
 */
export function compareStamps(a: WriteStamp, b: WriteStamp): -1 | 0 | 1 {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.c === b.c) return 0;
  return a.c < b.c ? -1 : 1;
}

/**
 * Whether `a` beats `b` (strictly greater). Equal stamps are the same write.
 *
 * @example
 * ```ts
 * isNewer({ t: 2, c: 'a' }, { t: 1, c: 'z' }); // true
 * ```
 */
export function isNewer(a: WriteStamp, b: WriteStamp): boolean {
  return compareStamps(a, b) > 0;
}

/**
 * The greater of two stamps; `a` itself when they are equal.
 *
 * @example
 * ```ts
 * maxStamp({ t: 1, c: 'a' }, { t: 1, c: 'b' }); // { t: 1, c: 'b' }
 * ```
 */
export function maxStamp(a: WriteStamp, b: WriteStamp): WriteStamp {
  return compareStamps(a, b) >= 0 ? a : b;
}

/**
 * Encodes a physical time and a logical counter as one write time. One safe
 * integer (rather than a pair) compares the same in JS and as a PostgreSQL
 * `bigint` or SQLite `INTEGER`.
 *
 * @throws {CarburetorError} `invalid_value` if `ms` is not a non-negative
 * integer below year 2255 or `counter` is not an integer in 0..999.
 * @example
 * ```ts
 * writeTimeFromMs(1_700_000_000_000, 3); // 1_700_000_000_000_003
 * ```
 */
export function writeTimeFromMs(ms: number, counter = 0): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_PHYSICAL_MS) {
    throw new CarburetorError(
      'invalid_value',
      `Write time physical part ${ms} is not an integer millisecond between 0 and ${MAX_PHYSICAL_MS}.`,
    );
  }
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_COUNTER) {
    throw new CarburetorError(
      'invalid_value',
      `Write time counter ${counter} is not an integer between 0 and ${MAX_COUNTER}.`,
    );
  }
  return ms * COUNTER_SPAN + counter;
}

/**
 * The physical milliseconds of a write time.
 *
 * @example
 * ```ts
 * msOfWriteTime(1_700_000_000_000_003); // 1_700_000_000_000
 * ```
 */
export function msOfWriteTime(t: number): number {
  return Math.floor(t / COUNTER_SPAN);
}

/**
 * The logical counter (0..999) of a write time.
 *
 * @example
 * ```ts
 * counterOfWriteTime(1_700_000_000_000_003); // 3
 * ```
 */
export function counterOfWriteTime(t: number): number {
  return t % COUNTER_SPAN;
}

/**
 * Whether `t` can be a write time: a non-negative safe integer.
 *
 * @example
 * ```ts
 * isValidWriteTime(1_700_000_000_000_003); // true
 * isValidWriteTime(1.5); // false
 * ```
 */
export function isValidWriteTime(t: unknown): t is number {
  return typeof t === 'number' && Number.isSafeInteger(t) && t >= 0;
}

/**
 * Whether `c` can be a client id: 1 to 64 of `a-z`, `0-9`, `-`, `_`. ASCII
 * only, so that code-unit order in JS equals `COLLATE "C"` in PostgreSQL.
 * {@link SERVER_CLIENT_ID} passes too.
 *
 * @example
 * ```ts
 * isValidClientId('device-7f3a'); // true
 * isValidClientId('Device'); // false
 * ```
 */
export function isValidClientId(c: unknown): c is string {
  return typeof c === 'string' && CLIENT_ID.test(c);
}

/**
 * Whether `c` can be a replica's client id: a valid client id other than
 * {@link SERVER_CLIENT_ID}, which stamps writes made outside Carburetor. The
 * one rule for client ids: `createSyncClient` refuses any other, and the
 * server refuses any other on every request.
 *
 * @example
 * ```ts
 * isReplicaClientId('device-7f3a'); // true
 * isReplicaClientId(SERVER_CLIENT_ID); // false
 * ```
 */
export function isReplicaClientId(c: unknown): c is string {
  return isValidClientId(c) && c !== SERVER_CLIENT_ID;
}
