import type { Kysely } from 'kysely';
import { describe, expectTypeOf, test } from 'vitest';
import type { phoneBookConfig } from '../../test/phone-book.fixture.ts';
import type {
  ClientDatabase,
  GroupContext,
  InferInsert,
  InferNames,
  InferRow,
  InferUpdate,
  ServerDatabase,
  WritableTableKey,
} from '../index.ts';
import { boolean, defineSyncConfig, integer, jsonb, table, text, timestamptz } from '../index.ts';

type Config = typeof phoneBookConfig;

describe('row types of the phone_book config', () => {
  test('InferRow is exact, with the renamed special columns', () => {
    expectTypeOf<InferRow<Config, 'phone_book'>>().toEqualTypeOf<{
      id: string;
      owner_id: string;
      name: string;
      phone_number: string;
      note: string | null;
      published: boolean;
      record_deleted: boolean;
      updated_at: string | null;
    }>();
  });

  test('special columns not declared are added with default names', () => {
    expectTypeOf<InferRow<Config, 'note'>>().toEqualTypeOf<{
      id: string;
      owner_id: string;
      body: string;
      tags: string[];
      is_deleted: boolean;
      last_synced_at: string | null;
    }>();
  });

  test('InferInsert: id, nullable and defaulted columns optional', () => {
    expectTypeOf<InferInsert<Config, 'phone_book'>>().toEqualTypeOf<{
      id?: string;
      owner_id: string;
      name: string;
      phone_number: string;
      note?: string | null;
      published?: boolean;
    }>();
  });

  test('InferUpdate: mutable columns only, all optional, null kept', () => {
    expectTypeOf<InferUpdate<Config, 'phone_book'>>().toEqualTypeOf<{
      name?: string;
      phone_number?: string;
      note?: string | null;
      published?: boolean;
    }>();
  });
});

describe('generated names', () => {
  test('from snake_case keys and the plural', () => {
    type Names = InferNames<Config, 'phone_book'>;
    expectTypeOf<Names['insert']>().toEqualTypeOf<'insertPhoneBook'>();
    expectTypeOf<Names['update']>().toEqualTypeOf<'updatePhoneBook'>();
    expectTypeOf<Names['delete']>().toEqualTypeOf<'deletePhoneBook'>();
    expectTypeOf<Names['active']>().toEqualTypeOf<'activePhoneBooks'>();
    expectTypeOf<Names['useActive']>().toEqualTypeOf<'useActivePhoneBooks'>();
    expectTypeOf<Names['useInsert']>().toEqualTypeOf<'useInsertPhoneBook'>();
    expectTypeOf<Names['useUpdate']>().toEqualTypeOf<'useUpdatePhoneBook'>();
    expectTypeOf<Names['useDelete']>().toEqualTypeOf<'useDeletePhoneBook'>();
    expectTypeOf<Names['sqlTable']>().toEqualTypeOf<'phone_books'>();
    expectTypeOf<InferNames<Config, 'note'>['active']>().toEqualTypeOf<'activeNotes'>();
  });

  test('from camelCase keys', () => {
    const config = defineSyncConfig({
      tables: { phoneBook: table({ name: text() }) },
      syncGroups: { all: { phoneBook: true } },
    });
    type Names = InferNames<typeof config, 'phoneBook'>;
    expectTypeOf<Names['insert']>().toEqualTypeOf<'insertPhoneBook'>();
    expectTypeOf<Names['active']>().toEqualTypeOf<'activePhoneBooks'>();
    expectTypeOf<Names['sqlTable']>().toEqualTypeOf<'phoneBooks'>();
  });
});

describe('database types plug into kysely', () => {
  test('server and client tables by SQL name', () => {
    type Server = ServerDatabase<Config>;
    type Client = ClientDatabase<Config>;
    expectTypeOf<keyof Server>().toEqualTypeOf<'phone_books' | 'notes'>();
    expectTypeOf<keyof Client>().toEqualTypeOf<'phone_books' | 'notes'>();
    const db = {} as Kysely<Client>;
    const query = db.selectFrom('phone_books').select(['id', 'note', 'dirty_flag']);
    expectTypeOf<Awaited<ReturnType<typeof query.executeTakeFirstOrThrow>>>().toEqualTypeOf<{
      id: string;
      note: string | null;
      dirty_flag: 'insert' | 'update' | null;
    }>();
    const server = {} as Kysely<Server>;
    const insert = server.insertInto('phone_books').values({
      id: 'x',
      owner_id: 'u',
      name: 'n',
      phone_number: '1',
    });
    expectTypeOf(insert).not.toBeAny();
  });
});

describe('groups', () => {
  test('context and writable tables are inferred', () => {
    expectTypeOf<GroupContext<Config, 'private_contacts'>>().toEqualTypeOf<{
      userId: string | number;
    }>();
    // biome-ignore lint/complexity/noBannedTypes: a group without restrictions needs no context
    expectTypeOf<GroupContext<Config, 'directory'>>().toEqualTypeOf<{}>();
    expectTypeOf<WritableTableKey<Config, 'private_contacts'>>().toEqualTypeOf<
      'phone_book' | 'note'
    >();
    expectTypeOf<WritableTableKey<Config, 'directory'>>().toBeNever();
  });
});

describe('mistakes are type errors', () => {
  test('a misspelled table in a group', () => {
    defineSyncConfig({
      tables: { phone_book: table({ name: text() }) },
      // @ts-expect-error phone_boo is not a table
      syncGroups: { all: { phone_boo: true } },
    });
  });

  test('a role on the wrong type', () => {
    // @ts-expect-error the id must be text
    integer().id();
    // @ts-expect-error the deleted flag must be boolean
    text().isDeleted();
    // @ts-expect-error last_synced_at must be timestamptz
    text().lastSyncedAt();
    // @ts-expect-error the metadata must be jsonb
    text().columnSyncMetadata();
    // @ts-expect-error the dirty flag must be text
    boolean().dirtyFlag();
    // @ts-expect-error only time columns default to now
    text().defaultNow();
    timestamptz().defaultNow();
    jsonb().$type<{ a: number }>();
  });

  test('a restriction column that is not immutable, or unknown', () => {
    defineSyncConfig({
      tables: { note: table({ owner_id: text(), body: text() }) },
      // @ts-expect-error owner_id is not immutable
      syncGroups: { mine: { note: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
    });
    defineSyncConfig({
      tables: { note: table({ owner_id: text().immutable(), body: text() }) },
      // @ts-expect-error owner is not a column
      syncGroups: { mine: { note: { restrictTo: { column: 'owner', context: 'userId' } } } },
    });
  });

  test('a filter value of the wrong type, a reserved group name', () => {
    defineSyncConfig({
      tables: { note: table({ published: boolean(), body: text() }) },
      // @ts-expect-error published is boolean
      syncGroups: { mine: { note: { filter: { published: 'yes' } } } },
    });
    defineSyncConfig({
      tables: { note: table({ body: text() }) },
      // @ts-expect-error tRPC reserves "apply"
      syncGroups: { apply: { note: true } },
    });
  });

  test('a default of the wrong type; update of an immutable column', () => {
    // @ts-expect-error a text column defaults to a string
    text().default(1);
    text().nullable().default(null);
    // @ts-expect-error owner_id is immutable
    const patch: InferUpdate<Config, 'phone_book'> = { owner_id: 'other' };
    void patch;
  });
});
