import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CarburetorError } from '../errors.ts';
import {
  compareStamps,
  counterOfWriteTime,
  isNewer,
  isReplicaClientId,
  isValidClientId,
  isValidWriteTime,
  maxStamp,
  msOfWriteTime,
  SERVER_CLIENT_ID,
  type WriteStamp,
  writeTimeFromMs,
} from '../rules/stamp.ts';

const RUNS = { numRuns: 1000 };
const MAX_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1000) - 1;
const clientId = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
const smallStamp = fc.record({
  t: fc.integer({ min: 0, max: 3 }),
  c: fc.constantFrom('a', 'b', 'server', 'a-1', 'A'),
});

describe('compareStamps', () => {
  it('orders by write time first, whatever the client ids', () => {
    expect(compareStamps({ t: 1, c: 'z' }, { t: 2, c: 'a' })).toBe(-1);
    expect(compareStamps({ t: 2, c: 'a' }, { t: 1, c: 'z' })).toBe(1);
  });

  it('breaks ties on write time by client id in code-unit order', () => {
    expect(compareStamps({ t: 5, c: 'a' }, { t: 5, c: 'b' })).toBe(-1);
    expect(compareStamps({ t: 5, c: 'b' }, { t: 5, c: 'a' })).toBe(1);
    expect(compareStamps({ t: 5, c: 'server' }, { t: 5, c: 'server' })).toBe(0);
  });

  it('uses COLLATE "C" order, not locale order', () => {
    // Locale collation puts '-' and '_' near the letters; "C" uses code units.
    expect(compareStamps({ t: 1, c: 'a-b' }, { t: 1, c: 'a_b' })).toBe(-1);
    expect(compareStamps({ t: 1, c: '9' }, { t: 1, c: 'a' })).toBe(-1);
    expect(compareStamps({ t: 1, c: '_' }, { t: 1, c: 'a' })).toBe(-1);
    expect(compareStamps({ t: 1, c: 'ab' }, { t: 1, c: 'abc' })).toBe(-1);
    expect(compareStamps({ t: 1, c: 'Z' }, { t: 1, c: 'a' })).toBe(-1);
  });

  it('is a total order: antisymmetric, transitive, 0 only for equal stamps', () => {
    fc.assert(
      fc.property(smallStamp, smallStamp, smallStamp, (a, b, c) => {
        expect(compareStamps(a, b)).toBe(-compareStamps(b, a) || 0);
        expect(compareStamps(a, b) === 0).toBe(a.t === b.t && a.c === b.c);
        if (compareStamps(a, b) <= 0 && compareStamps(b, c) <= 0) {
          expect(compareStamps(a, c)).toBeLessThanOrEqual(0);
        }
      }),
      RUNS,
    );
  });

  it('agrees with sorting by (t, c) as a tuple', () => {
    fc.assert(
      fc.property(fc.array(smallStamp), (stamps) => {
        const byTuple = [...stamps].sort((x, y) =>
          x.t !== y.t ? x.t - y.t : x.c < y.c ? -1 : x.c > y.c ? 1 : 0,
        );
        expect([...stamps].sort(compareStamps)).toEqual(byTuple);
      }),
      RUNS,
    );
  });
});

describe('isNewer and maxStamp', () => {
  it('isNewer is strict', () => {
    expect(isNewer({ t: 2, c: 'a' }, { t: 1, c: 'z' })).toBe(true);
    expect(isNewer({ t: 1, c: 'b' }, { t: 1, c: 'a' })).toBe(true);
    expect(isNewer({ t: 1, c: 'a' }, { t: 1, c: 'a' })).toBe(false);
    expect(isNewer({ t: 1, c: 'a' }, { t: 1, c: 'b' })).toBe(false);
  });

  it('maxStamp returns the greater argument, and the first one on a tie', () => {
    const a: WriteStamp = { t: 1, c: 'a' };
    const b: WriteStamp = { t: 1, c: 'b' };
    const aAgain: WriteStamp = { t: 1, c: 'a' };
    expect(maxStamp(a, b)).toBe(b);
    expect(maxStamp(b, a)).toBe(b);
    expect(maxStamp(a, aAgain)).toBe(a);
  });

  it('maxStamp is never below either argument and is one of them', () => {
    fc.assert(
      fc.property(smallStamp, smallStamp, (a, b) => {
        const m = maxStamp(a, b);
        expect(m === a || m === b).toBe(true);
        expect(compareStamps(m, a)).toBeGreaterThanOrEqual(0);
        expect(compareStamps(m, b)).toBeGreaterThanOrEqual(0);
        expect(isNewer(a, b)).toBe(compareStamps(a, b) === 1);
      }),
      RUNS,
    );
  });
});

describe('write time encoding', () => {
  it('encodes physical ms and counter into one integer', () => {
    expect(writeTimeFromMs(1_700_000_000_000)).toBe(1_700_000_000_000_000);
    expect(writeTimeFromMs(1_700_000_000_000, 3)).toBe(1_700_000_000_000_003);
    expect(writeTimeFromMs(0, 999)).toBe(999);
    expect(msOfWriteTime(1_700_000_000_000_003)).toBe(1_700_000_000_000);
    expect(counterOfWriteTime(1_700_000_000_000_003)).toBe(3);
  });

  it('round-trips every ms and counter, up to the largest safe write time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_MS }),
        fc.integer({ min: 0, max: 999 }),
        (ms, counter) => {
          const t = writeTimeFromMs(ms, counter);
          expect(Number.isSafeInteger(t)).toBe(true);
          expect(msOfWriteTime(t)).toBe(ms);
          expect(counterOfWriteTime(t)).toBe(counter);
        },
      ),
      RUNS,
    );
  });

  it('splits the largest write time exactly', () => {
    const t = writeTimeFromMs(MAX_MS, 999);
    expect(t).toBe(9_007_199_254_739_999);
    expect(msOfWriteTime(t)).toBe(MAX_MS);
    expect(counterOfWriteTime(t)).toBe(999);
  });

  it('orders write times like (ms, counter) pairs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_MS }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 0, max: MAX_MS }),
        fc.integer({ min: 0, max: 999 }),
        (ms1, c1, ms2, c2) => {
          const pairOrder = ms1 !== ms2 ? Math.sign(ms1 - ms2) : Math.sign(c1 - c2);
          expect(Math.sign(writeTimeFromMs(ms1, c1) - writeTimeFromMs(ms2, c2))).toBe(pairOrder);
        },
      ),
      RUNS,
    );
  });

  it.each([
    [-1, 0],
    [1.5, 0],
    [Number.NaN, 0],
    [MAX_MS + 1, 0],
    [0, -1],
    [0, 1000],
    [0, 0.5],
  ])('refuses ms %d with counter %d', (ms, counter) => {
    expect(() => writeTimeFromMs(ms, counter)).toThrow(CarburetorError);
  });

  it('isValidWriteTime accepts only non-negative safe integers', () => {
    expect(isValidWriteTime(0)).toBe(true);
    expect(isValidWriteTime(1_700_000_000_000_003)).toBe(true);
    expect(isValidWriteTime(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isValidWriteTime(Number.MAX_SAFE_INTEGER + 1)).toBe(false);
    expect(isValidWriteTime(-1)).toBe(false);
    expect(isValidWriteTime(1.5)).toBe(false);
    expect(isValidWriteTime(Number.NaN)).toBe(false);
    expect(isValidWriteTime(Number.POSITIVE_INFINITY)).toBe(false);
    expect(isValidWriteTime('5')).toBe(false);
    expect(isValidWriteTime(5n)).toBe(false);
    expect(isValidWriteTime(null)).toBe(false);
  });
});

describe('isValidClientId', () => {
  it('accepts 1..64 lowercase letters, digits, - and _, and the server id', () => {
    expect(isValidClientId('a')).toBe(true);
    expect(isValidClientId('device-7f3a_01')).toBe(true);
    expect(isValidClientId('x'.repeat(64))).toBe(true);
    expect(isValidClientId(SERVER_CLIENT_ID)).toBe(true);
    expect(SERVER_CLIENT_ID).toBe('server');
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(65)],
    ['uppercase', 'Device'],
    ['space', 'a b'],
    ['non-ASCII', 'é'],
    ['dot', 'a.b'],
    ['trailing newline', 'abc\n'],
  ])('refuses %s', (_label, id) => {
    expect(isValidClientId(id)).toBe(false);
  });

  it("a replica's client id is any valid one but the server's", () => {
    expect(isReplicaClientId('device-7f3a_01')).toBe(true);
    expect(isReplicaClientId(SERVER_CLIENT_ID)).toBe(false);
    expect(isReplicaClientId('Device')).toBe(false);
    expect(isReplicaClientId(5)).toBe(false);
  });

  it('refuses non-strings', () => {
    expect(isValidClientId(5)).toBe(false);
    expect(isValidClientId(undefined)).toBe(false);
  });

  it('accepts exactly the strings of the allowed alphabet', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (s) => {
        expect(isValidClientId(s)).toBe(s.length >= 1 && s.length <= 64 && /^[a-z0-9_-]*$/.test(s));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(clientId, (s) => {
        expect(isValidClientId(s)).toBe(true);
      }),
      RUNS,
    );
  });
});
