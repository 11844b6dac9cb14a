import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bigint,
  boolean,
  bytea,
  date,
  double,
  integer,
  jsonb,
  numeric,
  text,
  timestamptz,
  uuid,
} from '../config/column.ts';
import type { ResolvedTable } from '../config/resolved.ts';
import { defineSyncConfig } from '../config/sync-config.ts';
import { table } from '../config/table.ts';
import {
  decodeWireValue,
  encodeWireValue,
  nonFiniteAsText,
  wireValueOfPg,
  wireValueText,
} from '../protocol/value-codec.ts';

const config = defineSyncConfig({
  tables: {
    sample: table(
      { plural: 'samples' },
      {
        t: text().nullable(),
        b: boolean().nullable(),
        i: integer().nullable(),
        big: bigint().nullable(),
        d: double().nullable(),
        n: numeric().nullable(),
        day: date().nullable(),
        at: timestamptz().nullable(),
        doc: jsonb().nullable(),
        u: uuid().nullable(),
        bytes: bytea().nullable(),
      },
    ),
  },
  syncGroups: { all: { sample: true } },
});
const sample = config.tables.sample as ResolvedTable;
const column = (name: string) => sample.column[name]!;

describe('encodeWireValue, decodeWireValue', () => {
  it('carry null and a missing value as null, for every column', () => {
    for (const name of sample.syncedColumns) {
      expect(encodeWireValue(column(name), null)).toBeNull();
      expect(encodeWireValue(column(name), undefined)).toBeNull();
      expect(decodeWireValue(column(name), null)).toBeNull();
      expect(decodeWireValue(column(name), undefined)).toBeNull();
    }
  });

  it('encode each kind by its column type, and decode it back', () => {
    const cases: [string, unknown, unknown][] = [
      ['t', 'é🚗', 'é🚗'],
      ['b', true, true],
      ['i', -0, 0],
      ['big', '9007199254740993', '9007199254740993'],
      ['d', 0.1, 0.1],
      ['n', '1.50', '1.50'],
      ['day', '2024-02-29', '2024-02-29'],
      ['at', '2026-11-25T15:41:05.1Z', '2026-11-25T15:41:05.100000Z'],
      ['doc', { a: [1, 'x', null] }, { a: [1, 'x', null] }],
      ['u', 'ABCDEF00-0000-0000-0000-000000000000', 'abcdef00-0000-0000-0000-000000000000'],
      ['bytes', new Uint8Array([1, 2]), 'AQI='],
    ];
    for (const [name, value, wire] of cases) {
      expect({ name, wire: encodeWireValue(column(name), value) }).toEqual({ name, wire });
    }
    expect(decodeWireValue(column('bytes'), 'AQI=')).toEqual(new Uint8Array([1, 2]));
    expect(decodeWireValue(column('u'), 'ABCDEF00-0000-0000-0000-000000000000')).toBe(
      'abcdef00-0000-0000-0000-000000000000',
    );
  });

  it("read the deleted flag as isDeleted does (SQLite's 1 and 0 too)", () => {
    const flag = column(sample.isDeleted);
    expect([1, 0, true, false].map((v) => encodeWireValue(flag, v))).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect([true, false].map((v) => decodeWireValue(flag, v))).toEqual([true, false]);
  });

  it('decode what they encode, for bytes of any length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const wire = encodeWireValue(column('bytes'), bytes);
        expect(decodeWireValue(column('bytes'), wire)).toEqual(bytes);
      }),
    );
  });
});

describe('wireValueOfPg', () => {
  it("reads the driver's exact values into wire values", () => {
    expect(wireValueOfPg(column('at'), '2026-11-25 15:41:05.1234+00')).toBe(
      '2026-11-25T15:41:05.123400Z',
    );
    expect(wireValueOfPg(column('bytes'), new Uint8Array([1, 2]))).toBe('AQI=');
    expect(wireValueOfPg(column('big'), '-12')).toBe('-12');
    expect(wireValueOfPg(column('b'), null)).toBeNull();
  });

  it("sends what Carburetor does not keep as PostgreSQL's text, never throwing", () => {
    expect(wireValueOfPg(column('at'), 'infinity')).toBe('infinity');
    expect(wireValueOfPg(column('day'), '0044-03-15 BC')).toBe('0044-03-15 BC');
    expect(wireValueOfPg(column('d'), Number.NaN)).toBe('NaN');
    expect(wireValueOfPg(column('d'), -Infinity)).toBe('-Infinity');
  });
});

describe('nonFiniteAsText, wireValueText', () => {
  it('turn only the numbers JSON cannot carry into text', () => {
    expect([Number.NaN, Infinity, -Infinity, 1.5, 'x', null].map(nonFiniteAsText)).toEqual([
      'NaN',
      'Infinity',
      '-Infinity',
      1.5,
      'x',
      null,
    ]);
  });

  it('give a string as it is and anything else as JSON', () => {
    expect([wireValueText('a"b'), wireValueText(12), wireValueText({ a: 1 })]).toEqual([
      'a"b',
      '12',
      '{"a":1}',
    ]);
  });
});
