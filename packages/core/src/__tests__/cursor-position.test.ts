import { describe, expect, test } from 'vitest';
import { pushContinues, readCursorPosition } from '../protocol/cursor-position.ts';

// A cursor as the server writes it: base64url of its JSON (see the server's download/cursor.ts).
function cursor(json: Record<string, unknown>): string {
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}
const at = (floor: string | null, extra: Record<string, unknown> = {}) =>
  cursor({ v: 1, f: 'fp', l: floor, d: '7301.1', ...extra });

describe('readCursorPosition', () => {
  test('reads fingerprint, floor, history and whether a pass is under way', () => {
    expect(readCursorPosition(at('774'))).toEqual({
      fingerprint: 'fp',
      history: '7301.1',
      run: undefined,
      floor: 774n,
      inPass: false,
      config: undefined,
    });
    expect(readCursorPosition(at('774', { r: '1733500000000000:760' }))?.run).toBe(
      '1733500000000000',
    );
    expect(readCursorPosition(at('774', { k: '0123456789abcdef' }))?.config).toBe(
      '0123456789abcdef',
    );
    expect(readCursorPosition(at('774', { p: '700', x: '750', i: 'r1' }))?.inPass).toBe(true);
    expect(readCursorPosition(cursor({ v: 1, f: 'fp', l: null }))).toEqual({
      fingerprint: 'fp',
      history: undefined,
      run: undefined,
      floor: null,
      inPass: false,
      config: undefined,
    });
  });

  test('anything else is not a cursor it can read', () => {
    for (const text of [
      '',
      'not base64 json',
      cursor({ f: 1, l: '1' }),
      cursor({ f: 'fp', l: '-1' }),
      cursor({ f: 'fp', l: '1', r: 'yesterday' }),
    ]) {
      expect(readCursorPosition(text)).toBeUndefined();
    }
  });
});

describe('pushContinues(held, from, pushed)', () => {
  test('a page from at or below the held floor, ending past it, applies', () => {
    expect(pushContinues(at('774'), '760', at('800'))).toBe('apply');
    expect(pushContinues(at('774'), '774', at('800'))).toBe('apply');
  });
  test('a page the replica is already past is skipped', () => {
    expect(pushContinues(at('800'), '774', at('800'))).toBe('skip');
    expect(pushContinues(at('900'), '774', at('800'))).toBe('skip');
  });
  test('a gap: a page from above the held floor, a pass under way, no cursor, another fingerprint', () => {
    expect(pushContinues(at('760'), '774', at('800'))).toBe('gap');
    expect(pushContinues(at('774', { p: '700', x: '750', i: 'r' }), '760', at('800'))).toBe('gap');
    expect(pushContinues(null, '0', at('800'))).toBe('gap');
    expect(
      pushContinues(at('774'), '760', cursor({ v: 1, f: 'other', l: '800', d: '7301.1' })),
    ).toBe('gap');
    expect(pushContinues(at('774'), 'x', at('800'))).toBe('gap');
  });
  test('floors of two database histories never compare (a failover reuses transaction ids)', () => {
    expect(pushContinues(at('774'), '760', at('800', { d: '7301.2' }))).toBe('gap');
    expect(pushContinues(at('774', { d: undefined }), '760', at('800'))).toBe('gap');
  });
  test('floors of two runs of the primary never compare (a crash restart hands out xids again)', () => {
    const run = (started: string) => ({ r: `${started}:700` });
    expect(pushContinues(at('774', run('1')), '760', at('800', run('2')))).toBe('gap');
    expect(pushContinues(at('774'), '760', at('800', run('2')))).toBe('gap');
    // The same run, another checkpoint since: the floors compare.
    expect(pushContinues(at('774', run('1')), '760', at('800', { r: '1:790' }))).toBe('apply');
  });
  test("a page of another config's columns is a gap: the cursor would claim columns never stored", () => {
    const mine = { k: '0123456789abcdef' };
    expect(pushContinues(at('774', mine), '760', at('800', mine))).toBe('apply');
    expect(pushContinues(at('774', mine), '760', at('800', { k: 'fedcba9876543210' }))).toBe('gap');
    expect(pushContinues(at('774'), '760', at('800', mine))).toBe('gap');
  });
});
