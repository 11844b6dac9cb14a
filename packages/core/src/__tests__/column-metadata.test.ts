import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CarburetorError, MalformedMetadataError } from '../errors.ts';
import {
  type ClientColumnMetadata,
  decodeColumnMetadata,
  encodeColumnMetadata,
} from '../rules/column-metadata.ts';

const RUNS = { numRuns: 1000 };

const entryArb = fc.record(
  {
    t: fc.maxSafeNat(),
    c: fc.stringMatching(/^[a-z0-9_-]{1,12}$/),
    d: fc.constant(1 as const),
  },
  { requiredKeys: ['t', 'c'], noNullPrototype: true },
);
const columnArb = fc.string({ minLength: 1, maxLength: 10 }).filter((k) => k !== '__proto__');
const metaArb: fc.Arbitrary<ClientColumnMetadata> = fc.dictionary(columnArb, entryArb, {
  maxKeys: 8,
  noNullPrototype: true,
});

function decodeError(input: unknown, where?: string): MalformedMetadataError {
  try {
    decodeColumnMetadata(input, where);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedMetadataError);
    expect(error).toBeInstanceOf(CarburetorError);
    expect((error as MalformedMetadataError).code).toBe('malformed_metadata');
    return error as MalformedMetadataError;
  }
  throw new Error(`decodeColumnMetadata(${JSON.stringify(input)}) did not throw`);
}

describe('decodeColumnMetadata', () => {
  it.each([null, undefined, '', 'null'])('reads %j as no metadata', (input) => {
    expect(decodeColumnMetadata(input)).toEqual({});
  });

  it('reads the server shape from JSON text', () => {
    expect(
      decodeColumnMetadata('{"title":{"t":1700000000000000,"c":"server"},"done":{"t":5,"c":"a"}}'),
    ).toEqual({ title: { t: 1_700_000_000_000_000, c: 'server' }, done: { t: 5, c: 'a' } });
  });

  it('reads the client shape with dirty marks from JSON text', () => {
    expect(
      decodeColumnMetadata('{"title":{"t":7,"c":"dev-1","d":1},"done":{"t":5,"c":"a"}}'),
    ).toEqual({ title: { t: 7, c: 'dev-1', d: 1 }, done: { t: 5, c: 'a' } });
  });

  it('reads an already parsed object (jsonb from pg) without sharing or mutating it', () => {
    const input = { title: { t: 7, c: 'dev-1', d: 1, extra: 'x' } };
    const frozen = structuredClone(input);
    const out = decodeColumnMetadata(input);
    expect(out).toEqual({ title: { t: 7, c: 'dev-1', d: 1 } });
    expect(out['title']).not.toBe(input.title);
    expect(input).toEqual(frozen);
  });

  it('treats d as dirty only when 1 or true, and clean when 0, false, null or absent', () => {
    expect(
      decodeColumnMetadata({
        a: { t: 1, c: 'x', d: 1 },
        b: { t: 1, c: 'x', d: true },
        c: { t: 1, c: 'x', d: 0 },
        d: { t: 1, c: 'x', d: false },
        e: { t: 1, c: 'x', d: null },
        f: { t: 1, c: 'x' },
      }),
    ).toStrictEqual({
      a: { t: 1, c: 'x', d: 1 },
      b: { t: 1, c: 'x', d: 1 },
      c: { t: 1, c: 'x' },
      d: { t: 1, c: 'x' },
      e: { t: 1, c: 'x' },
      f: { t: 1, c: 'x' },
    });
  });

  it('ignores unknown fields in an entry (written by a newer version)', () => {
    expect(decodeColumnMetadata('{"a":{"t":1,"c":"x","v":2,"origin":{"x":1}}}')).toStrictEqual({
      a: { t: 1, c: 'x' },
    });
  });

  it('keeps entries for columns it does not know, when they are valid stamps', () => {
    expect(decodeColumnMetadata('{"added_in_v2":{"t":3,"c":"server"}}')).toEqual({
      added_in_v2: { t: 3, c: 'server' },
    });
  });

  it('accepts an empty object and an empty client id', () => {
    expect(decodeColumnMetadata('{}')).toEqual({});
    expect(decodeColumnMetadata({ a: { t: 0, c: '' } })).toEqual({ a: { t: 0, c: '' } });
  });

  it('refuses text that is not JSON, naming where and quoting the text', () => {
    const error = decodeError('{"a":', 'todos row 42');
    expect(error.message).toContain('todos row 42');
    expect(error.message).toContain('not valid JSON');
    expect(error.message).toContain('{\\"a\\":');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('names a default place when none is given', () => {
    expect(decodeError('nope').message).toContain('column metadata');
  });

  it.each([
    ['an array', '[]', 'an array'],
    ['a number', '5', 'a number'],
    ['a string', '"x"', 'a string'],
    ['a boolean', true, 'a boolean'],
    ['a parsed array', [{ t: 1, c: 'x' }], 'an array'],
  ])('refuses %s at top level', (_label, input, described) => {
    const error = decodeError(input, 'notes row 1');
    expect(error.message).toContain('notes row 1');
    expect(error.message).toContain(described);
  });

  it.each([
    ['entry not an object', { a: 5 }, 'entry for column "a"'],
    ['entry null', { a: null }, 'got null'],
    ['entry an array', { a: [1, 'x'] }, 'an array'],
    ['t missing', { a: { c: 'x' } }, 'no write time t'],
    ['t a string', { a: { t: '5', c: 'x' } }, 't = "5"'],
    ['t negative', { a: { t: -1, c: 'x' } }, 't = -1'],
    ['t fractional', { a: { t: 1.5, c: 'x' } }, 't = 1.5'],
    ['t unsafe', { a: { t: 2 ** 60, c: 'x' } }, 'non-negative safe integer'],
    ['c missing', { a: { t: 1 } }, 'no client id c'],
    ['c a number', { a: { t: 1, c: 7 } }, 'client id c of type a number'],
    ['d unknown', { a: { t: 1, c: 'x', d: 2 } }, 'd = 2'],
    ['d a string', { a: { t: 1, c: 'x', d: 'yes' } }, 'd = "yes"'],
  ])('refuses an entry with %s', (_label, input, fragment) => {
    const error = decodeError(JSON.stringify(input), 'todos row 7');
    expect(error.message).toContain('todos row 7');
    expect(error.message).toContain(fragment);
    // The same from an already parsed object.
    expect(decodeError(input).message).toContain(fragment);
  });

  it('refuses a bad entry even among good ones', () => {
    expect(decodeError({ a: { t: 1, c: 'x' }, b: { t: 1 } }).message).toContain('column "b"');
  });

  it('refuses a column named __proto__ rather than change the prototype', () => {
    const error = decodeError('{"__proto__":{"t":1,"c":"x"}}');
    expect(error.message).toContain('__proto__');
    expect(Object.getPrototypeOf(decodeColumnMetadata('{"a":{"t":1,"c":"x"}}'))).toBe(
      Object.prototype,
    );
  });

  it('never throws anything but MalformedMetadataError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          decodeColumnMetadata(JSON.stringify(value));
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedMetadataError);
        }
      }),
      RUNS,
    );
  });
});

describe('encodeColumnMetadata', () => {
  it('writes sorted columns and only t, c and d: 1', () => {
    expect(
      encodeColumnMetadata({ b: { t: 2, c: 'x' }, a: { t: 1, c: 'y', d: 1 }, B: { t: 3, c: 'z' } }),
    ).toBe('{"B":{"t":3,"c":"z"},"a":{"t":1,"c":"y","d":1},"b":{"t":2,"c":"x"}}');
    expect(encodeColumnMetadata({})).toBe('{}');
  });

  it('drops fields the format does not know', () => {
    const meta = { a: { t: 1, c: 'y', extra: true } } as ClientColumnMetadata;
    expect(encodeColumnMetadata(meta)).toBe('{"a":{"t":1,"c":"y"}}');
  });

  it('escapes column names and client ids', () => {
    const text = encodeColumnMetadata({ 'we"ird\\col': { t: 1, c: 'a"b' } });
    expect(JSON.parse(text)).toEqual({ 'we"ird\\col': { t: 1, c: 'a"b' } });
  });

  it('round-trips through decode', () => {
    fc.assert(
      fc.property(metaArb, (meta) => {
        const text = encodeColumnMetadata(meta);
        expect(decodeColumnMetadata(text)).toStrictEqual(meta);
        expect(JSON.parse(text)).toStrictEqual(meta);
      }),
      RUNS,
    );
  });

  it('gives equal text for equal metadata whatever the key order', () => {
    fc.assert(
      fc.property(metaArb, fc.infiniteStream(fc.double()), (meta, noise) => {
        const shuffled = Object.fromEntries(
          Object.entries(meta)
            .map(([k, v]) => [k, v, noise.next().value] as const)
            .sort((x, y) => x[2] - y[2])
            .map(([k, v]) => [k, { ...v }]),
        );
        expect(encodeColumnMetadata(shuffled)).toBe(encodeColumnMetadata(meta));
      }),
      RUNS,
    );
  });

  it('gives different text for different metadata', () => {
    fc.assert(
      fc.property(metaArb, metaArb, (a, b) => {
        const flat = (m: ClientColumnMetadata) =>
          JSON.stringify(
            Object.keys(m)
              .sort()
              .map((k) => [k, m[k]!.t, m[k]!.c, m[k]!.d ?? 0]),
          );
        const same = flat(a) === flat(b);
        expect(encodeColumnMetadata(a) === encodeColumnMetadata(b)).toBe(same);
      }),
      RUNS,
    );
  });
});
