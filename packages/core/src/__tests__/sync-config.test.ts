import { describe, expect, test } from 'vitest';
import { phoneBookConfig } from '../../test/phone-book.fixture.ts';
import {
  boolean,
  ConfigError,
  defineSyncConfig,
  integer,
  jsonb,
  table,
  text,
  timestamptz,
} from '../index.ts';

// Untyped entry point: the runtime checks exist for JavaScript users and casts.
const define = (input: { tables: Record<string, unknown>; syncGroups: Record<string, unknown> }) =>
  defineSyncConfig(input as unknown as Parameters<typeof defineSyncConfig>[0]);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('resolved model', () => {
  test('phone_book: plural, names, special columns renamed, data columns first', () => {
    const t = phoneBookConfig.tables.phone_book;
    expect(t.sqlName).toBe('phone_books');
    expect(t.names.active).toBe('activePhoneBooks');
    expect(t.names.useInsert).toBe('useInsertPhoneBook');
    expect(t.id).toBe('id');
    expect(t.isDeleted).toBe('record_deleted');
    expect(t.lastSyncedAt).toBe('updated_at');
    expect(t.columnSyncMetadata).toBe('sync_metadata');
    expect(t.dirtyFlag).toBe('dirty_flag');
    expect(t.dataColumns.map((c) => c.name)).toEqual([
      'owner_id',
      'name',
      'phone_number',
      'note',
      'published',
    ]);
    expect(t.syncedColumns).toEqual([
      'owner_id',
      'name',
      'phone_number',
      'note',
      'published',
      'record_deleted',
    ]);
    expect(t.columns.map((c) => c.name)).toContain('dirty_flag');
    expect(t.column['note']?.nullable).toBe(true);
    expect(t.column['owner_id']?.immutable).toBe(true);
  });

  test('undeclared special columns get default names and the default plural', () => {
    const t = phoneBookConfig.tables.note;
    expect(t.sqlName).toBe('notes');
    expect([t.id, t.isDeleted, t.lastSyncedAt, t.columnSyncMetadata, t.dirtyFlag]).toEqual([
      'id',
      'is_deleted',
      'last_synced_at',
      'column_sync_metadata',
      'dirty_flag',
    ]);
    expect(t.column['id']?.kind).toBe('text');
    expect(t.column['is_deleted']?.kind).toBe('boolean');
  });

  test('a column with a default special name takes the role', () => {
    const config = define({
      tables: { item: table({ id: text(), is_deleted: boolean(), label: text() }) },
      syncGroups: { all: { item: true } },
    });
    expect(config.tables['item']?.id).toBe('id');
    expect(config.tables['item']?.dataColumns.map((c) => c.name)).toEqual(['label']);
  });

  test('groups: restriction, filter, readOnly, context keys; a table in many groups', () => {
    const g = phoneBookConfig.groups.private_contacts;
    expect(g.contextKeys).toEqual(['userId']);
    expect(g.table['phone_book']?.restrictTo).toEqual({ column: 'owner_id', context: 'userId' });
    const d = phoneBookConfig.groups.directory;
    expect(d.table['phone_book']?.filter).toEqual({ published: true });
    expect(d.table['phone_book']?.readOnly).toBe(true);
    expect(d.contextKeys).toEqual([]);
  });

  test('the config and its parts are frozen', () => {
    expect(Object.isFrozen(phoneBookConfig)).toBe(true);
    expect(Object.isFrozen(phoneBookConfig.tables.phone_book)).toBe(true);
    const col = text();
    expect(col.nullable()).not.toBe(col);
    expect(col.spec.nullable).toBe(false);
    expect(Object.isFrozen(col)).toBe(true);
  });
});

describe('invalid configs throw a ConfigError naming table and column', () => {
  const cases: [string, () => unknown, RegExp, { table?: string; column?: string }][] = [
    [
      'a value that is not a column builder',
      () =>
        define({
          tables: { item: table({ key: 'text' as never, label: text() }) },
          syncGroups: { all: { item: true } },
        }),
      /not a column builder/,
      { table: 'item', column: 'key' },
    ],
    [
      'a default-named special column of the wrong type',
      () =>
        define({
          tables: { item: table({ id: integer(), label: text() }) },
          syncGroups: { all: { item: true } },
        }),
      /"item\.id" is the \.id\(\) column and must be text, not integer/,
      { table: 'item', column: 'id' },
    ],
    [
      'wrong kind under a role marker (JavaScript caller)',
      () =>
        define({
          tables: {
            item: table({
              deleted: (text() as unknown as { isDeleted(): unknown }).isDeleted.call(
                text(),
              ) as never,
              label: text(),
            }),
          },
          syncGroups: { all: { item: true } },
        }),
      /"item\.deleted" is the \.isDeleted\(\) column and must be boolean, not text/,
      { table: 'item', column: 'deleted' },
    ],
    [
      'two columns with one role',
      () =>
        define({
          tables: { item: table({ a: text().id(), b: text().id(), label: text() }) },
          syncGroups: { all: { item: true } },
        }),
      /marks both "a" and "b" with \.id\(\)/,
      { table: 'item', column: 'b' },
    ],
    [
      'a nullable id',
      () =>
        define({
          tables: { item: table({ key: text().nullable().id(), label: text() }) },
          syncGroups: { all: { item: true } },
        }),
      /cannot be nullable/,
      { table: 'item', column: 'key' },
    ],
    [
      'duplicate columns (SQLite ignores case)',
      () =>
        define({
          tables: { item: table({ Label: text(), label: text() }) },
          syncGroups: { all: { item: true } },
        }),
      /duplicate columns "Label" and "label"/,
      { table: 'item', column: 'label' },
    ],
    [
      'a reserved column prefix',
      () =>
        define({
          tables: { item: table({ _carburetor_xid: text() }) },
          syncGroups: { all: { item: true } },
        }),
      /reserves/,
      { table: 'item', column: '_carburetor_xid' },
    ],
    [
      'an invalid column name',
      () =>
        define({
          tables: { item: table({ 'my label': text() }) },
          syncGroups: { all: { item: true } },
        }),
      /Column of table "item" "my label" is not a valid name/,
      { table: 'item', column: 'my label' },
    ],
    [
      'two tables with one SQL name',
      () =>
        define({
          tables: {
            person: table({ plural: 'people' }, { a: text() }),
            human: table({ plural: 'people' }, { a: text() }),
          },
          syncGroups: { all: { person: true } },
        }),
      /both use the SQL name "people"/,
      { table: 'human' },
    ],
    [
      "a table's bulk insert named like another table's insert",
      () =>
        define({
          tables: {
            phone_book: table({ plural: 'phone_books' }, { a: text() }),
            phone_books: table({ plural: 'phone_bookses' }, { a: text() }),
          },
          syncGroups: { all: { phone_book: true } },
        }),
      /Tables "phone_book" and "phone_books" would both generate insertPhoneBooks\(\): give one of them another key or plural/,
      { table: 'phone_books' },
    ],
    [
      'two keys that are one name in PascalCase',
      () =>
        define({
          tables: {
            phone_book: table({ plural: 'phone_books' }, { a: text() }),
            phoneBook: table({ plural: 'address_books' }, { a: text() }),
          },
          syncGroups: { all: { phone_book: true } },
        }),
      /Tables "phone_book" and "phoneBook" would both generate insertPhoneBook\(\)/,
      { table: 'phoneBook' },
    ],
    [
      'an unknown table in a group',
      () =>
        define({ tables: { item: table({ label: text() }) }, syncGroups: { all: { itme: true } } }),
      /lists the unknown table "itme"; the tables are: item/,
      { table: 'itme' },
    ],
    [
      'an unknown restriction column',
      () =>
        define({
          tables: { item: table({ label: text() }) },
          syncGroups: { mine: { item: { restrictTo: { column: 'owner', context: 'userId' } } } },
        }),
      /unknown column "owner"/,
      { table: 'item', column: 'owner' },
    ],
    [
      'a restriction column that is not immutable',
      () =>
        define({
          tables: { item: table({ owner_id: text(), label: text() }) },
          syncGroups: { mine: { item: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
        }),
      /"owner_id", which is not immutable.*\.immutable\(\)/,
      { table: 'item', column: 'owner_id' },
    ],
    [
      'an unknown filter column',
      () =>
        define({
          tables: { item: table({ label: text() }) },
          syncGroups: { pub: { item: { filter: { published: true } } } },
        }),
      /filters table "item" on the unknown column "published"/,
      { table: 'item', column: 'published' },
    ],
    [
      'a filter value of the wrong type',
      () =>
        define({
          tables: { item: table({ published: boolean() }) },
          syncGroups: { pub: { item: { filter: { published: 'yes' } } } },
        }),
      /by "yes", which is not a boolean value/,
      { table: 'item', column: 'published' },
    ],
    [
      'an unknown group option',
      () =>
        define({
          tables: { item: table({ label: text() }) },
          syncGroups: { pub: { item: { readonly: true } } },
        }),
      /unknown option "readonly"/,
      { table: 'item' },
    ],
    [
      'a group name tRPC reserves',
      () =>
        define({
          tables: { item: table({ label: text() }) },
          syncGroups: { call: { item: true } },
        }),
      /clashes with a name tRPC reserves/,
      {},
    ],
    [
      'a default of the wrong type',
      () =>
        define({
          tables: { item: table({ count: integer().default('many' as never) }) },
          syncGroups: { all: { item: true } },
        }),
      /default "many", which is not a valid integer value/,
      { table: 'item', column: 'count' },
    ],
    [
      'a null default on a non-nullable column',
      () =>
        define({
          tables: { item: table({ label: text().default(null as never) }) },
          syncGroups: { all: { item: true } },
        }),
      /defaults to null but is not nullable/,
      { table: 'item', column: 'label' },
    ],
    [
      'a table without data columns',
      () =>
        define({ tables: { item: table({ id: text() }) }, syncGroups: { all: { item: true } } }),
      /has no data columns/,
      { table: 'item' },
    ],
    [
      'a group without tables',
      () => define({ tables: { item: table({ label: text() }) }, syncGroups: { all: {} } }),
      /lists no tables/,
      {},
    ],
  ];

  test.each(cases)('%s', (_name, fn, message, where) => {
    const error = configError(fn);
    expect(error.message).toMatch(message);
    expect(error.code).toBe('config');
    expect(error.table).toBe(where.table);
    expect(error.column).toBe(where.column);
  });

  test('valid specials and defaults pass', () => {
    const config = define({
      tables: {
        item: table({
          key: text().id(),
          gone: boolean().isDeleted(),
          meta: jsonb().columnSyncMetadata(),
          synced: timestamptz().lastSyncedAt(),
          dirty: text().dirtyFlag(),
          created: timestamptz().defaultNow(),
          count: integer().default(0),
        }),
      },
      syncGroups: { all: { item: true } },
    });
    expect(config.tables['item']?.dataColumns.map((c) => c.name)).toEqual(['created', 'count']);
    expect(config.tables['item']?.dirtyFlag).toBe('dirty');
  });
});
