import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CarburetorError } from '../errors.ts';
import { fingerprint } from '../rules/fingerprint.ts';

const RUNS = { numRuns: 1000 };

/** The same JSON value with every object's keys in a random order. */
function reorderKeys(value: unknown, noise: Iterator<number>): unknown {
  if (Array.isArray(value)) return value.map((item) => reorderKeys(item, noise));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value)
    .map(([k, v]) => [k, reorderKeys(v, noise), noise.next().value as number] as const)
    .sort((x, y) => x[2] - y[2]);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

describe('fingerprint', () => {
  it('is 16 lowercase hex digits', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(fingerprint(value)).toMatch(/^[0-9a-f]{16}$/);
      }),
      RUNS,
    );
  });

  it('keeps known values (cursors stored by earlier versions must still match)', () => {
    expect(fingerprint({ group: 'todos', context: { userId: 'u1' } })).toBe('1b2aee4ebe684bac');
    expect(fingerprint('')).toBe('ada151798dddd9f7');
    expect(fingerprint(null)).toBe('9b55e0da69fcb93a');
  });

  it('does not depend on object key order, at any depth', () => {
    expect(fingerprint({ a: 1, b: { c: [1, { d: 2, e: 3 }], f: null } })).toBe(
      fingerprint({ b: { f: null, c: [1, { e: 3, d: 2 }] }, a: 1 }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.infiniteStream(fc.double({ noNaN: true })), (value, noise) => {
        expect(fingerprint(reorderKeys(value, noise))).toBe(fingerprint(value));
      }),
      RUNS,
    );
  });

  it('depends on array order', () => {
    expect(fingerprint([1, 2])).not.toBe(fingerprint([2, 1]));
  });

  it.each([
    ['a number and its string', 1, '1'],
    ['null and its string', null, 'null'],
    ['true and its string', true, 'true'],
    ['a bigint and the number', 1n, 1],
    ['a bigint and a string like it', 1n, '1n'],
    ['NaN and null', Number.NaN, null],
    ['Infinity and null', Number.POSITIVE_INFINITY, null],
    ['nesting', [[1], 2], [1, [2]]],
    ['a key and a value swapped', { a: 'b' }, { b: 'a' }],
    ['an empty object and an empty array', {}, []],
    ['one more key', { a: 1 }, { a: 1, b: null }],
    ['a key with a separator in it', { 'a":1,"b': 2 }, { a: 1, b: 2 }],
    ['two users', { userId: 'u1' }, { userId: 'u2' }],
  ])('tells apart %s', (_label, x, y) => {
    expect(fingerprint(x)).not.toBe(fingerprint(y));
  });

  it('follows JSON for undefined, functions and toJSON', () => {
    expect(fingerprint({ a: 1, b: undefined, f: () => 1 })).toBe(fingerprint({ a: 1 }));
    expect(fingerprint([undefined])).toBe(fingerprint([null]));
    expect(fingerprint({ at: new Date(0) })).toBe(fingerprint({ at: '1970-01-01T00:00:00.000Z' }));
    expect(fingerprint(undefined)).not.toBe(fingerprint(null));
  });

  it('gives different outputs for different inputs on a sample', () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      for (const value of [{ group: 'todos', context: { userId: `u${i}` } }, i, `${i}`, [i]]) {
        const text = JSON.stringify(value);
        const hash = fingerprint(value);
        expect(seen.get(hash) ?? text).toBe(text);
        seen.set(hash, text);
      }
    }
    expect(seen.size).toBe(80_000);
  });

  it('differs whenever the canonical JSON differs', () => {
    const canonical = (v: unknown): string =>
      JSON.stringify(v, (_k, x: unknown) =>
        typeof x === 'object' && x !== null && !Array.isArray(x)
          ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          : x,
      );
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (x, y) => {
        expect(fingerprint(x) === fingerprint(y)).toBe(canonical(x) === canonical(y));
      }),
      RUNS,
    );
  });

  it('refuses a value that contains itself, but accepts shared sub-objects', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = { inner: cyclic };
    expect(() => fingerprint(cyclic)).toThrow(CarburetorError);
    const shared = { x: 1 };
    expect(fingerprint({ a: shared, b: [shared, shared] })).toBe(
      fingerprint({ a: { x: 1 }, b: [{ x: 1 }, { x: 1 }] }),
    );
  });
});
