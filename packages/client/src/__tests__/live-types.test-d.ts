import { describe, expectTypeOf, test } from 'vitest';
import type { SyncClient } from '../client/types.ts';
import type { LiveQuery, LiveResult } from '../live/live-query.ts';
import type { phoneBookConfig } from './fixtures.ts';

type Client = SyncClient<typeof phoneBookConfig, 'private_contacts' | 'directory'>;
declare const client: Client;

describe('client.live types', () => {
  test('rows follow the query', () => {
    const live = client.live(client.activePhoneBooks().clearSelect().select(['id', 'name']));
    expectTypeOf(live).toEqualTypeOf<LiveQuery<{ id: string; name: string }>>();
    expectTypeOf(live.current).toEqualTypeOf<LiveResult<{ id: string; name: string }>>();
    expectTypeOf(live.result()).resolves.toEqualTypeOf<readonly { id: string; name: string }[]>();
    const joined = client.live(
      client.db
        .selectFrom('phone_books as p')
        .innerJoin('notes as n', 'n.body', 'p.id')
        .select(['p.published', 'n.tags']),
    );
    expectTypeOf(joined.current.rows).toEqualTypeOf<
      readonly { published: boolean; tags: string[] }[] | undefined
    >();
  });

  test('tables are the config keys; a misspelled one is an error', () => {
    client.live(client.activeNotes(), { tables: ['note', 'phone_book'] });
    // @ts-expect-error: no such table key
    client.live(client.activeNotes(), { tables: ['notes'] });
  });

  test('change events name their ids by table key', () => {
    client.onChange((event) => {
      expectTypeOf(event.ids?.phone_book).toEqualTypeOf<readonly string[] | undefined>();
    });
  });
});
