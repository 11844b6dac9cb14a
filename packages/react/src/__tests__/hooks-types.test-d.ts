import type { InferInsert, InferRow } from '@carburetor/core';
import type { UseMutationResult, UseQueryResult } from '@tanstack/react-query';
import { describe, expectTypeOf, test } from 'vitest';
import { createCarburetorHooks } from '../index.ts';
import { config, type LocalClient } from './fixtures.ts';

const hooks = createCarburetorHooks(config);
type Config = typeof config;
type Contact = InferRow<Config, 'phone_book'>;

describe('names come from the config', () => {
  test('every generated hook, and nothing else', () => {
    expectTypeOf<keyof typeof hooks>().toEqualTypeOf<
      | 'CarburetorProvider'
      | 'useLocalQuery'
      | 'useSyncStatus'
      | 'useSyncProgress'
      | 'useActivePhoneBooks'
      | 'useActiveNotes'
      | 'useInsertPhoneBook'
      | 'useUpdatePhoneBook'
      | 'useDeletePhoneBook'
      | 'useInsertNote'
      | 'useUpdateNote'
      | 'useDeleteNote'
    >();
  });

  test('useSyncProgress is typed: totals, hasSynced and the tables in a first download', () => {
    const progress = hooks.useSyncProgress();
    expectTypeOf(progress.fraction).toEqualTypeOf<number | null>();
    expectTypeOf(progress.downloading).toEqualTypeOf<boolean>();
    expectTypeOf(progress.atLeast).toEqualTypeOf<boolean>();
    expectTypeOf(progress.hasSynced).toEqualTypeOf<boolean>();
    expectTypeOf(progress.tables[0]!.expected).toEqualTypeOf<number>();
  });

  test('a misspelled hook is a type error', () => {
    // @ts-expect-error singular instead of the plural
    hooks.useActivePhoneBook;
    // @ts-expect-error the SQL name is not a hook name
    hooks.useActivePhone_books;
    // @ts-expect-error no such table
    hooks.useInsertContact;
  });

  test('a table read-only in every group gets no write hooks', () => {
    const readOnly = createCarburetorHooks(
      // a config whose only group reads phone_book
      null as unknown as import('@carburetor/core').SyncConfig<
        Config['$tables'],
        { directory: Config['$groups']['directory'] }
      >,
    );
    expectTypeOf(readOnly).toHaveProperty('useActivePhoneBooks');
    expectTypeOf(readOnly).not.toHaveProperty('useInsertPhoneBook');
    expectTypeOf(readOnly).not.toHaveProperty('useActiveNotes');
  });
});

describe('row types come from the config', () => {
  test('useActive<Plural>() gives the rows of the active query', () => {
    const result = hooks.useActivePhoneBooks();
    type Row = NonNullable<typeof result.data>[number];
    expectTypeOf<Row['name']>().toEqualTypeOf<string>();
    expectTypeOf<Row['note']>().toEqualTypeOf<string | null>();
    expectTypeOf<Row['published']>().toEqualTypeOf<boolean>();
    expectTypeOf<Pick<Row, keyof Contact>>().toEqualTypeOf<Contact>();
    const notes = hooks.useActiveNotes();
    type Note = NonNullable<typeof notes.data>[number];
    expectTypeOf<Note['body']>().toEqualTypeOf<string>();
    expectTypeOf<Note['tags']>().toEqualTypeOf<string[]>();
  });

  test('refine changes the result type', () => {
    const names = hooks.useActivePhoneBooks((q) =>
      q.where('name', 'like', '%a%').orderBy('name').clearSelect().select(['name', 'note']),
    );
    expectTypeOf(names.data).toEqualTypeOf<{ name: string; note: string | null }[] | undefined>();
    expectTypeOf(names).toMatchTypeOf<
      UseQueryResult<{ name: string; note: string | null }[], Error>
    >();
    const one = hooks.useActivePhoneBooks((q) => q.clearSelect().select('id').limit(1));
    expectTypeOf(one.data).toEqualTypeOf<{ id: string }[] | undefined>();
  });

  test('a misspelled column is a type error', () => {
    // @ts-expect-error no column 'nmae'
    hooks.useActivePhoneBooks((q) => q.where('nmae', '=', 'Ada'));
    // @ts-expect-error no column 'phone'
    hooks.useActivePhoneBooks((q) => q.select('phone'));
    // @ts-expect-error notes has no column 'name'
    hooks.useLocalQuery((db) => db.selectFrom('notes').select('name'));
    // @ts-expect-error no table 'phone_book' in SQL (the table is the plural)
    hooks.useLocalQuery((db) => db.selectFrom('phone_book').selectAll());
    // @ts-expect-error `tables` takes table keys
    hooks.useLocalQuery((db) => db.selectFrom('notes').selectAll(), { tables: ['notes'] });
  });

  test('useLocalQuery follows the query', () => {
    const joined = hooks.useLocalQuery((db) =>
      db
        .selectFrom('phone_books as p')
        .innerJoin('notes as n', 'n.body', 'p.id')
        .select(['p.name', 'n.tags']),
    );
    expectTypeOf(joined.data).toEqualTypeOf<{ name: string; tags: string[] }[] | undefined>();
    const first = hooks.useLocalQuery((db) => db.selectFrom('notes').select('body'), {
      tables: ['note'],
    });
    expectTypeOf(first.data).toEqualTypeOf<{ body: string }[] | undefined>();
  });

  test('write hooks take and give the config types', () => {
    const insert = hooks.useInsertPhoneBook();
    expectTypeOf(insert).toEqualTypeOf<
      UseMutationResult<Contact, Error, InferInsert<Config, 'phone_book'>>
    >();
    insert.mutate({ owner_id: 'u', name: 'Ada', phone_number: '1' });
    // @ts-expect-error phone_number is required
    insert.mutate({ owner_id: 'u', name: 'Ada' });
    // @ts-expect-error misspelled column
    insert.mutate({ owner_id: 'u', name: 'Ada', phone_numbr: '1' });

    const update = hooks.useUpdatePhoneBook();
    update.mutate({ id: 'x', changes: { note: null } });
    // @ts-expect-error owner_id is immutable
    update.mutate({ id: 'x', changes: { owner_id: 'other' } });
    // @ts-expect-error name is not nullable
    update.mutate({ id: 'x', changes: { name: null } });

    const remove = hooks.useDeleteNote();
    expectTypeOf(remove.mutate).parameter(0).toEqualTypeOf<string>();
    expectTypeOf(remove.mutateAsync).returns.resolves.toBeVoid();
  });

  test('the provider takes any client of this config, or a promise of one, or null', () => {
    type Props = Parameters<typeof hooks.CarburetorProvider>[0];
    expectTypeOf<LocalClient>().toMatchTypeOf<Props['client']>();
    expectTypeOf<Promise<LocalClient>>().toMatchTypeOf<Props['client']>();
    expectTypeOf<null>().toMatchTypeOf<Props['client']>();
    const other = createCarburetorHooks(
      null as unknown as import('@carburetor/core').SyncConfig<
        { thing: Config['$tables']['note'] },
        { g: { thing: true } }
      >,
    );
    type OtherProps = Parameters<typeof other.CarburetorProvider>[0];
    expectTypeOf<LocalClient>().not.toMatchTypeOf<OtherProps['client']>();
  });

  test('useSyncStatus gives the client status', () => {
    expectTypeOf(hooks.useSyncStatus().phase).toEqualTypeOf<'idle' | 'uploading' | 'downloading'>();
    expectTypeOf(hooks.useSyncStatus().pendingCount).toEqualTypeOf<number>();
  });
});
