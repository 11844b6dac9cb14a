import { compareCodePoints } from '../driver/binary-collation.ts';

/**
 * SQLite's storage classes in the order `ORDER BY` puts them: NULL, then
 * numbers (INTEGER and REAL together), then TEXT, then BLOB.
 */
function classOf(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number' || typeof value === 'bigint') return 1;
  if (typeof value === 'string') return 2;
  return 3;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Orders two values read from SQLite as its `ORDER BY ... ASC` does with the
 * BINARY collation (the replica declares no other): NULL first, numbers by
 * value, text by code point, blobs by bytes. Negative, zero or positive.
 *
 * @example
 * ```ts
 * [3, 'a', null, 1n].sort(compareSqliteValues); // [null, 1n, 3, 'a']
 * ```
 */
export function compareSqliteValues(a: unknown, b: unknown): number {
  const ca = classOf(a);
  const cb = classOf(b);
  if (ca !== cb) return ca - cb;
  switch (ca) {
    case 0:
      return 0;
    case 1: {
      const x = a as number | bigint;
      const y = b as number | bigint;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 2:
      return compareCodePoints(a as string, b as string);
    default:
      return a instanceof Uint8Array && b instanceof Uint8Array ? compareBytes(a, b) : 0;
  }
}
