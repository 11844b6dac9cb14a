import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CursorState, decodeCursor, encodeCursor } from '../download/cursor.ts';
import { CarburetorServerError } from '../errors.ts';

const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const inPass = { v: 1, f: '0123456789abcdef', l: '100', p: '120', x: '130', i: 'row-1' };

function refusal(text: string): CarburetorServerError {
  try {
    decodeCursor(text, 'contact');
  } catch (error) {
    if (error instanceof CarburetorServerError) return error;
    throw error;
  }
  throw new Error(`accepted ${text}`);
}

describe('decodeCursor refuses every cursor the server could not have made, before any SQL', () => {
  it('reads back what encodeCursor made', () => {
    const states: CursorState[] = [
      { fingerprint: 'abc', floor: null },
      { fingerprint: 'abc', floor: '18446744073709551615' },
      {
        fingerprint: 'abc',
        floor: null,
        pass: { floor: '5', lastXid: '7', lastId: 'row-1', startedWithRows: true },
      },
      {
        fingerprint: 'abc',
        floor: '9',
        history: '7301.1',
        run: { started: '1733500000000000', checkpointXid: '8' },
      },
    ];
    for (const state of states) expect(decodeCursor(encodeCursor(state), 'contact')).toEqual(state);
  });

  it.each([
    ['a floor above 2^64-1', { ...inPass, l: '18446744073709551616' }, 'bad floor'],
    ['a position above 2^64-1', { ...inPass, x: '99999999999999999999' }, 'bad position'],
    ['a pass floor above 2^64-1', { ...inPass, p: '18446744073709551616' }, 'bad position'],
    ['a negative floor', { ...inPass, l: '-1' }, 'bad floor'],
    ['a NUL in the row id', { ...inPass, i: 'a\u0000b' }, 'bad position'],
    ['a lone surrogate in the row id', { ...inPass, i: 'a\ud800' }, 'bad position'],
    ['an empty row id', { ...inPass, i: '' }, 'bad position'],
    ['a row id longer than ids are', { ...inPass, i: 'x'.repeat(256) }, 'bad position'],
    ['a fingerprint with odd characters', { ...inPass, f: 'ab"; drop' }, 'bad fingerprint'],
    ['another version', { ...inPass, v: 2 }, 'unknown version 2'],
    ['a first-pass flag that is not a boolean', { ...inPass, h: 'yes' }, 'bad first-pass flag'],
    ['a server run that is not start:xid', { ...inPass, r: '17:' }, 'bad server run'],
    [
      'a server run checkpoint above 2^64-1',
      { ...inPass, r: '1:18446744073709551616' },
      'bad server run',
    ],
    ['a server run that is not text', { ...inPass, r: 17 }, 'bad server run'],
  ])('%s', (_, value, why) => {
    const error = refusal(encode(value));
    expect(error.code).toBe('bad_request');
    expect(error.message).toContain(`cursor of table "contact" is malformed (${why})`);
  });

  it('refuses text that is not an encoded cursor', () => {
    for (const text of ['', '!!!', encode([1, 2]), encode('text'), encode(null), 'e30']) {
      expect(refusal(text).code).toBe('bad_request');
    }
  });

  it('any tampering gives a cursor of valid fields or a bad_request, never anything else', () => {
    const field = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.bigInt({ min: -1n, max: 2n ** 70n }).map(String),
      fc.constantFrom(null, true, 0, -1, 1e30, [], {}),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('v', 'f', 'l', 'p', 'x', 'i', 'h', 'k', 'u', 'r'),
        field,
        (key, value) => {
          const text = encode({ ...inPass, [key]: value });
          let state: CursorState;
          try {
            state = decodeCursor(text, 'contact');
          } catch (error) {
            expect(error).toBeInstanceOf(CarburetorServerError);
            expect((error as CarburetorServerError).code).toBe('bad_request');
            return;
          }
          for (const xid of [state.floor, state.pass?.floor, state.pass?.lastXid]) {
            if (xid != null) expect(BigInt(xid) < 2n ** 64n && BigInt(xid) >= 0n).toBe(true);
          }
          if (state.pass) expect(state.pass.lastId.includes('\u0000')).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
