import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type ColumnKind,
  type ColumnKindValues,
  columnKinds,
  columnTypes,
} from '../config/column-types.ts';
import { normalizeTimestamp } from '../config/timestamp.ts';

const samples: { [K in ColumnKind]: ColumnKindValues[K][] } = {
  text: [
    '',
    'plain',
    "O'Brien; DROP TABLE phone_books; --",
    'emoji 📞 and ünïcödé',
    '"quoted" \\ back',
  ],
  boolean: [true, false],
  integer: [0, -2147483648, 2147483647, 42],
  bigint: ['0', '9007199254740993', '-9223372036854775808', '9223372036854775807'],
  double: [0, -1.5, Math.PI, 1e-300, Number.MAX_VALUE],
  numeric: ['0', '123456789012345678901234567890.123456789', '-0.000000001'],
  date: ['2026-11-25', '1970-01-01', '2000-02-29'],
  timestamptz: [
    '2026-11-25T15:41:05.123456Z',
    '1999-12-31T23:59:59.000001Z',
    '2026-01-01T00:00:00.000000Z',
  ],
  jsonb: [null, 1, 'x', [1, 'two', { three: [true] }], { nested: { a: [null, 1.5] } }],
  uuid: ['0192e0b8-7c1a-7000-8000-000000000001', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  bytea: [new Uint8Array(), new Uint8Array([0, 1, 2, 253, 254, 255])],
};

describe('every column type round-trips exactly', () => {
  test.each(columnKinds)('%s through JSON on the wire', (kind) => {
    const type = columnTypes[kind];
    for (const value of samples[kind] as never[]) {
      const wire = JSON.parse(JSON.stringify(type.toWire(value)));
      expect(type.checkWire(wire)).toBeUndefined();
      expect(type.fromWire(wire)).toEqual(value);
    }
  });

  test.each(columnKinds)('%s through SQLite storage', (kind) => {
    const type = columnTypes[kind];
    for (const value of samples[kind] as never[]) {
      expect(type.fromSqlite(type.toSqlite(value))).toEqual(value);
    }
  });

  test('random text, integers, doubles and bytes round-trip on the wire', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.uint8Array(),
        (s, i, d, b) => {
          const rt = <K extends ColumnKind>(kind: K, v: ColumnKindValues[K]) =>
            columnTypes[kind].fromWire(JSON.parse(JSON.stringify(columnTypes[kind].toWire(v))));
          expect(rt('text', s)).toBe(s);
          expect(rt('integer', i)).toBe(i);
          expect(Object.is(rt('double', d), d) || (d === 0 && rt('double', d) === 0)).toBe(true);
          expect(rt('bytea', b)).toEqual(b);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('bigint and numeric keep every digit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const wire = columnTypes.bigint.toWire(String(n));
        expect(columnTypes.bigint.checkWire(wire)).toBeUndefined();
        expect(BigInt(columnTypes.bigint.fromSqlite(columnTypes.bigint.toSqlite(String(n))))).toBe(
          n,
        );
      }),
      { numRuns: 1000 },
    );
    expect(columnTypes.bigint.checkWire('9223372036854775808')).toBeDefined();
    expect(columnTypes.bigint.checkWire('1.5')).toBeDefined();
    expect(columnTypes.numeric.checkWire('1e5')).toBeDefined();
  });

  test('PostgreSQL output is read into the canonical forms', () => {
    expect(columnTypes.timestamptz.fromPg('2026-11-25 15:41:05.1234+00')).toBe(
      '2026-11-25T15:41:05.123400Z',
    );
    expect(columnTypes.timestamptz.fromPg('2026-11-25 17:41:05+02')).toBe(
      '2026-11-25T15:41:05.000000Z',
    );
    expect(columnTypes.boolean.fromPg(true)).toBe(true);
    expect(columnTypes.bytea.fromPg('\\x00ff10')).toEqual(new Uint8Array([0, 255, 16]));
    expect(columnTypes.jsonb.fromPg({ a: 1 })).toEqual({ a: 1 });
    // A jsonb holding a JSON string comes from the driver as that string.
    expect(columnTypes.jsonb.fromPg('text')).toBe('text');
    expect(columnTypes.uuid.fromPg('0192E0B8-7C1A-7000-8000-000000000001')).toBe(
      '0192e0b8-7c1a-7000-8000-000000000001',
    );
    expect(columnTypes.bigint.fromPg('9007199254740993')).toBe('9007199254740993');
  });
});

describe('timestamps', () => {
  test('keep microseconds, convert offsets to UTC, sort as text', () => {
    expect(normalizeTimestamp('2026-11-25T15:41:05.123456Z')).toBe('2026-11-25T15:41:05.123456Z');
    expect(normalizeTimestamp('2026-11-25T10:41:05.5-05:00')).toBe('2026-11-25T15:41:05.500000Z');
    expect(normalizeTimestamp('2026-01-01T00:30:00+01:00')).toBe('2025-12-31T23:30:00.000000Z');
    expect(normalizeTimestamp('2026-11-25T15:41:05.1234567Z')).toBe('2026-11-25T15:41:05.123456Z');
    const a = normalizeTimestamp('2026-11-25T15:41:05.000001Z');
    const b = normalizeTimestamp('2026-11-25T15:41:05.00001Z');
    expect(a < b).toBe(true);
  });

  test('keep the years 0001-9999 in UTC, which PostgreSQL and the replica store alike', () => {
    expect(normalizeTimestamp('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000000Z');
    expect(normalizeTimestamp('0050-06-01T12:00:00+02:00')).toBe('0050-06-01T10:00:00.000000Z');
    expect(normalizeTimestamp('9999-12-31T23:59:59.999999Z')).toBe('9999-12-31T23:59:59.999999Z');
    expect(columnTypes.timestamptz.fromPg('0050-06-01 10:00:00+00')).toBe(
      '0050-06-01T10:00:00.000000Z',
    );
    // Year 10000 in UTC: PostgreSQL would print five digits, which neither sorts nor reads back.
    expect(() => normalizeTimestamp('9999-12-31T23:59:59.999999-14:00')).toThrow(/0001-9999/);
    // Year 0 does not exist in PostgreSQL (1 BC), nor does 0001 before its first hour in UTC.
    expect(() => normalizeTimestamp('0000-06-01T00:00:00Z')).toThrow(/0001-9999/);
    expect(() => normalizeTimestamp('0001-01-01T00:30:00+01:00')).toThrow(/0001-9999/);
    expect(columnTypes.timestamptz.checkWire('9999-12-31T23:59:59-01:00')).toBeDefined();
  });

  test('dates keep the years 0001-9999', () => {
    expect(columnTypes.date.checkWire('0001-01-01')).toBeUndefined();
    expect(columnTypes.date.checkWire('9999-12-31')).toBeUndefined();
    expect(columnTypes.date.checkWire('0000-01-01')).toMatch(/0001-9999/);
  });

  test.each([
    '2026-02-30T00:00:00Z',
    '2026-11-25',
    'yesterday',
    '2026-11-25T25:00:00Z',
    '2026-11-25T15:41:05',
  ])('refuses %s', (text) => {
    expect(() => normalizeTimestamp(text)).toThrow(/timestamp/);
  });
});
