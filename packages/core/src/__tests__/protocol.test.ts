import { describe, expect, test } from 'vitest';
import { phoneBookConfig as config } from '../../test/phone-book.fixture.ts';
import { DownloadRowReader, downloadRowsToWire } from '../protocol/download-rows.ts';
import { MAX_UPLOAD_ROWS, MAX_VALUE_BYTES, PROTOCOL_VERSION } from '../protocol/limits.ts';
import { checkUploadRow, type DownloadRow, type UploadRow } from '../protocol/messages.ts';
import { groupProtocol } from '../protocol/schemas.ts';
import { checkValue, checkWireValue, encodeValues } from '../protocol/values.ts';

const protocol = groupProtocol(config, 'private_contacts');
const phoneBook = protocol.group.table['phone_book']!;
const table = config.tables.phone_book;

const insertRow = (columns: Record<string, unknown>, id = 'row-1'): UploadRow => ({
  op: 'insert',
  id,
  columns: Object.fromEntries(
    Object.entries(columns).map(([k, v]) => [k, { value: v as never, t: 1 }]),
  ),
});

const valid = {
  owner_id: 'u1',
  name: 'Ada',
  phone_number: '+44 20',
  note: null,
};

describe('structure errors fail the whole request', () => {
  const base = { protocol: PROTOCOL_VERSION, clientId: 'client-a', tables: {} };

  test('a well-formed upload and download parse', () => {
    expect(
      protocol.uploadRequest.safeParse({ ...base, tables: { phone_book: [insertRow(valid)] } })
        .success,
    ).toBe(true);
    expect(
      protocol.downloadRequest.safeParse({
        ...base,
        tables: { phone_book: { cursor: null, hasRows: false } },
        pageSize: 500,
      }).success,
    ).toBe(true);
  });

  test('JSON values pass through unrebuilt: a "__proto__" key (valid JSON) stays a key', () => {
    const value = JSON.parse('{"": {"__proto__": null}, "a": [{"__proto__": 1}]}') as unknown;
    const row = { op: 'update', id: 'r1', columns: { note: { value, t: 1 } } };
    const parsed = protocol.uploadRequest.parse({ ...base, tables: { phone_book: [row] } });
    const kept = parsed.tables['phone_book']?.[0]?.columns['note']?.value;
    expect(JSON.stringify(kept)).toBe('{"":{"__proto__":null},"a":[{"__proto__":1}]}');
    const notJson = { ...row, columns: { note: { value: new Date(0), t: 1 } } };
    expect(
      protocol.uploadRequest.safeParse({ ...base, tables: { phone_book: [notJson] } }).success,
    ).toBe(false);
  });

  test('a wrong protocol version names both versions', () => {
    const result = protocol.uploadRequest.safeParse({ ...base, protocol: 99 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(
      /protocol version 99 is not supported; this server speaks versions 1, 2 and 3/,
    );
  });

  test('a table not in the group names the group and its tables', () => {
    const result = groupProtocol(config, 'directory').uploadRequest.safeParse({
      ...base,
      tables: { note: [] },
    });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(
      /group \\"directory\\" has no table \\"note\\"/,
    );
  });

  test('not the protocol shape: bad client id, missing write time, extra keys, too many rows', () => {
    expect(protocol.uploadRequest.safeParse({ ...base, clientId: 'Has Spaces' }).success).toBe(
      false,
    );
    expect(protocol.uploadRequest.safeParse({ ...base, clientId: 'server' }).success).toBe(false);
    expect(
      protocol.uploadRequest.safeParse({
        ...base,
        tables: { phone_book: [{ op: 'insert', id: 'x', columns: { name: { value: 'a' } } }] },
      }).success,
    ).toBe(false);
    expect(protocol.uploadRequest.safeParse({ ...base, extra: 1 }).success).toBe(false);
    const many = Array.from({ length: MAX_UPLOAD_ROWS + 1 }, (_, i) => insertRow(valid, `r${i}`));
    const result = protocol.uploadRequest.safeParse({ ...base, tables: { phone_book: many } });
    expect(result.error?.issues[0]?.message).toMatch(/at most 2000 rows/);
    expect(protocol.downloadRequest.safeParse({ ...base, pageSize: 0 }).success).toBe(false);
  });

  test('an unknown group is refused with the list of groups', () => {
    expect(() => groupProtocol(config, 'nope')).toThrow(
      /Unknown sync group "nope"; the groups are: private_contacts, directory/,
    );
  });
});

describe('value errors are per row', () => {
  test('a valid insert decodes, and defaults need not be sent', () => {
    const checked = checkUploadRow(phoneBook, insertRow(valid));
    expect(checked).toMatchObject({
      ok: true,
      op: 'insert',
      values: { name: 'Ada', note: null },
      times: { name: 1 },
    });
  });

  test.each([
    ['unknown column', { ...valid, nickname: 'x' }, /unknown column "nickname"/],
    [
      'managed column',
      { ...valid, updated_at: '2026-01-01T00:00:00Z' },
      /"updated_at" is managed by Carburetor/,
    ],
    ['wrong type', { ...valid, published: 'yes' }, /published expects a boolean value, got "yes"/],
    ['failing validator', { ...valid, name: '' }, /name: a contact needs a name/],
    ['null in a required column', { ...valid, phone_number: null }, /phone_number cannot be null/],
    [
      'missing required column',
      { owner_id: 'u1', name: 'Ada' },
      /an insert needs column "phone_number"/,
    ],
    [
      'oversized value',
      { ...valid, note: 'x'.repeat(MAX_VALUE_BYTES + 1) },
      /note is 262145 bytes, over the limit of 262144/,
    ],
  ])('%s', (_name, columns, message) => {
    const checked = checkUploadRow(phoneBook, insertRow(columns));
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.code).toBe('invalid_value');
      expect(checked.message).toMatch(message);
      expect(checked.message).toMatch(/^phone_book row-1: /);
    }
  });

  test('ids and JSON that PostgreSQL cannot store are refused per row', () => {
    const notes = groupProtocol(config, 'private_contacts').group.table['note']!;
    const note = (columns: Record<string, unknown>, id = 'n1'): UploadRow => ({
      op: 'insert',
      id,
      columns: Object.fromEntries(
        Object.entries(columns).map(([k, v]) => [k, { value: v as never, t: 1 }]),
      ),
    });
    const base = { owner_id: 'u1', body: 'b' };
    expect(checkUploadRow(notes, note({ ...base, tags: ['ok'] })).ok).toBe(true);
    expect(checkUploadRow(notes, note({ ...base, tags: ['\uD800'] }))).toMatchObject({
      ok: false,
      message: /tags expects a jsonb value/,
    });
    expect(checkUploadRow(notes, note({ ...base, tags: { 'k\u0000': 1 } as never })).ok).toBe(
      false,
    );
    expect(checkUploadRow(notes, note(base, 'bad\u0000id'))).toMatchObject({
      ok: false,
      message: /id holds a NUL/,
    });
    expect(checkUploadRow(notes, note({ ...base, body: 'a\u0000b' }))).toMatchObject({
      ok: false,
      message: /body expects a text value, got "a\\u0000b" \(text cannot hold a NUL character/,
    });
  });

  test('an update carries only its columns, and null is a value', () => {
    const checked = checkUploadRow(phoneBook, {
      op: 'update',
      id: 'r',
      columns: { note: { value: null, t: 5 } },
    });
    expect(checked).toMatchObject({ ok: true, values: { note: null }, times: { note: 5 } });
    expect(checkUploadRow(phoneBook, { op: 'update', id: 'r', columns: {} }).ok).toBe(false);
  });

  test('strings full of SQL and quotes are values like any other', () => {
    const evil = "'); DELETE FROM phone_books; -- \" \\ ' ";
    expect(checkUploadRow(phoneBook, insertRow({ ...valid, name: evil }))).toMatchObject({
      ok: true,
      values: { name: evil },
    });
  });
});

describe('app-side values', () => {
  test('checkValue refuses wrong types and runs the validator', () => {
    expect(checkValue(table.column['name']!, 'Ada').ok).toBe(true);
    expect(checkValue(table.column['name']!, '')).toEqual({
      ok: false,
      message: 'name: a contact needs a name',
    });
    expect(checkValue(table.column['note']!, null).ok).toBe(true);
    expect(checkValue(table.column['phone_number']!, undefined)).toEqual({
      ok: false,
      message: 'phone_number is missing',
    });
    expect(checkValue(table.column['published']!, 1).ok).toBe(false);
    expect(checkWireValue(config.tables.note.column['tags']!, ['a', 'b'])).toMatchObject({
      ok: true,
      value: ['a', 'b'],
    });
  });

  test('encodeValues encodes only the columns asked for', () => {
    expect(
      encodeValues(table, { name: 'Ada', note: null, published: true }, ['name', 'note']),
    ).toEqual({
      name: 'Ada',
      note: null,
    });
  });
});

describe('download rows', () => {
  test('read times as differences through the page, writers by index, unstamped columns skipped', () => {
    const page = { columns: ['a', 'b', 'c', 'd'], clients: ['w1', 'w2'] };
    const first: DownloadRow = ['r1', 1_764_085_265_123_456, 1, 'x', null, true];
    first.push(1_760_000_000_000_000, 1, null, null, -7, 0, 0, 1);
    const second: DownloadRow = ['r2', 544, 2, 'y', 'z', false];
    second.push(1_000, 0, 0, 0, null, null, 5, 1);
    const unsynced: DownloadRow = ['r3', null, 3, null, null, false];
    unsynced.push(null, null, null, null, null, null, null, null);
    const third: DownloadRow = ['r4', 0, 4, null, null, false];
    third.push(-1, 0, null, null, null, null, null, null);
    expect(downloadRowsToWire({ ...page, rows: [first, second, unsynced, third] })).toEqual([
      [
        'r1',
        '2025-11-25T15:41:05.123456Z',
        {
          a: { t: 1_760_000_000_000_000, c: 'w2' },
          c: { t: 1_759_999_999_999_993, c: 'w1' },
          d: { t: 1_759_999_999_999_993, c: 'w2' },
        },
        1,
        'x',
        null,
        true,
      ],
      [
        'r2',
        '2025-11-25T15:41:05.124000Z',
        {
          a: { t: 1_760_000_000_000_993, c: 'w1' },
          b: { t: 1_760_000_000_000_993, c: 'w1' },
          d: { t: 1_760_000_000_000_998, c: 'w2' },
        },
        2,
        'y',
        'z',
        false,
      ],
      ['r3', '', {}, 3, null, null, false],
      [
        'r4',
        '2025-11-25T15:41:05.124000Z',
        { a: { t: 1_760_000_000_000_997, c: 'w1' } },
        4,
        null,
        null,
        false,
      ],
    ]);
  });

  test('a last-synced-at JavaScript cannot hold is refused by name', () => {
    const page = { columns: [], clients: [], rows: [['r1', 9e18] as DownloadRow] };
    expect(() => downloadRowsToWire(page)).toThrow(/not a time in microseconds/);
  });

  test('a row whose time cannot be read still moves the reader on: the rows after it read right', () => {
    const page = { columns: ['a'], clients: ['w1'] };
    const reader = new DownloadRowReader(page);
    // Powers of two keep the sums exact past the safe integers.
    const base = 2 ** 50;
    expect(reader.read(['r1', base, 1, 100, 0]).metadata).toEqual({ a: { t: 100, c: 'w1' } });
    expect(() => reader.read(['r2', 2 ** 53, 2, 5, 0])).toThrow(/not a time in microseconds/);
    expect(() => reader.read(['r3', 0, 3, 5, 0])).toThrow(/not a time in microseconds/);
    const after = reader.read(['r4', -(2 ** 53) + 1, 4, 5, 0]);
    expect(after.metadata).toEqual({ a: { t: 115, c: 'w1' } });
    expect(after.lastSyncedAt).toBe('2005-09-05T05:58:26.842625Z');
  });
});
