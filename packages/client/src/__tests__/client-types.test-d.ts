import type { ClientDatabase, InferRow } from '@carburetor/core';
import type { Kysely } from 'kysely';
import { describe, expectTypeOf, test } from 'vitest';
import type { SyncClient } from '../client/types.ts';
import type { kindsConfig, phoneBookConfig } from './fixtures.ts';

type PhoneBook = typeof phoneBookConfig;
type Both = SyncClient<PhoneBook, 'private_contacts' | 'directory'>;
type DirectoryOnly = SyncClient<PhoneBook, 'directory'>;
type Items = SyncClient<typeof kindsConfig, 'items'>;

describe('generated client types', () => {
  test('names are present for the tables of the client groups', () => {
    expectTypeOf<Both>().toHaveProperty('insertPhoneBook');
    expectTypeOf<Both>().toHaveProperty('updatePhoneBook');
    expectTypeOf<Both>().toHaveProperty('deletePhoneBook');
    expectTypeOf<Both>().toHaveProperty('activePhoneBooks');
    expectTypeOf<Both>().toHaveProperty('insertPhoneBooks');
    expectTypeOf<Both>().toHaveProperty('insertNote');
    expectTypeOf<Both>().toHaveProperty('insertNotes');
    expectTypeOf<DirectoryOnly>().not.toHaveProperty('insertPhoneBooks');
    expectTypeOf<Both>().toHaveProperty('activeNotes');
    expectTypeOf<Both['db']>().toEqualTypeOf<Kysely<ClientDatabase<PhoneBook>>>();
  });

  test('row types are exact', () => {
    expectTypeOf<Awaited<ReturnType<Both['insertPhoneBook']>>>().toEqualTypeOf<{
      id: string;
      owner_id: string;
      name: string;
      phone_number: string;
      note: string | null;
      published: boolean;
      record_deleted: boolean;
      updated_at: string | null;
    }>();
    expectTypeOf<Parameters<Both['insertPhoneBook']>[0]>().toEqualTypeOf<{
      id?: string;
      owner_id: string;
      name: string;
      phone_number: string;
      note?: string | null;
      published?: boolean;
    }>();
    expectTypeOf<Parameters<Both['updatePhoneBook']>>().toEqualTypeOf<
      [
        id: string,
        changes: {
          name?: string;
          phone_number?: string;
          note?: string | null;
          published?: boolean;
        },
      ]
    >();
    expectTypeOf<Awaited<ReturnType<Items['insertItem']>>>().toEqualTypeOf<
      InferRow<typeof kindsConfig, 'item'>
    >();
    type Active = Awaited<ReturnType<ReturnType<Items['activeItems']>['execute']>>[number];
    expectTypeOf<Active['done']>().toEqualTypeOf<boolean>();
    expectTypeOf<Active['views']>().toEqualTypeOf<string>();
    expectTypeOf<Active['data']>().toEqualTypeOf<{ tags: string[] } | null>();
  });

  test('a misspelled method or column is a type error', () => {
    const client = {} as Both;
    // @ts-expect-error misspelled helper
    client.insertPhonebook;
    // @ts-expect-error misspelled query helper
    client.activePhoneBook;
    // @ts-expect-error unknown column
    client.updatePhoneBook('id', { nmae: 'x' });
    // @ts-expect-error immutable column cannot be updated
    client.updatePhoneBook('id', { owner_id: 'x' });
  });

  test('read-only tables have queries but no writes; tables outside the groups have nothing', () => {
    expectTypeOf<DirectoryOnly>().toHaveProperty('activePhoneBooks');
    expectTypeOf<DirectoryOnly>().not.toHaveProperty('insertPhoneBook');
    expectTypeOf<DirectoryOnly>().not.toHaveProperty('activeNotes');
    expectTypeOf<DirectoryOnly>().not.toHaveProperty('insertNote');
    expectTypeOf<Items>().not.toHaveProperty('insertSecret');
    expectTypeOf<Items>().not.toHaveProperty('activeSecrets');
  });

  test('transaction helpers are the client write helpers', () => {
    type Tx = Parameters<Parameters<Both['transaction']>[0]>[0];
    expectTypeOf<Tx>().toHaveProperty('insertPhoneBook');
    expectTypeOf<Tx>().not.toHaveProperty('activePhoneBooks');
  });

  test('the bulk insert takes an array of insert rows and returns their rows', () => {
    type Bulk = Both['insertPhoneBooks'];
    expectTypeOf<Parameters<Bulk>[0]>().toEqualTypeOf<
      readonly Parameters<Both['insertPhoneBook']>[0][]
    >();
    expectTypeOf<Awaited<ReturnType<Bulk>>>().toEqualTypeOf<
      Awaited<ReturnType<Both['insertPhoneBook']>>[]
    >();
  });
});
