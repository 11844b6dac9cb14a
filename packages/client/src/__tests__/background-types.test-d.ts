import { describe, expectTypeOf, test } from 'vitest';
import type { SyncClient } from '../client/types.ts';
import type { SyncStatus } from '../sync/sync-status-store.ts';
import type { phoneBookConfig } from './fixtures.ts';

type Client = SyncClient<typeof phoneBookConfig, 'private_contacts'>;

describe('background sync types', () => {
  test('status, subscribe, onChange, start and stop', () => {
    expectTypeOf<Client['status']>().toEqualTypeOf<SyncStatus>();
    expectTypeOf<SyncStatus['phase']>().toEqualTypeOf<'idle' | 'uploading' | 'downloading'>();
    expectTypeOf<Parameters<Parameters<Client['onChange']>[0]>[0]['tables']>().toEqualTypeOf<
      readonly ('phone_book' | 'note')[]
    >();
    expectTypeOf<ReturnType<Client['subscribe']>>().toEqualTypeOf<() => void>();
    expectTypeOf<Client['start']>().parameter(0).toEqualTypeOf<
      | {
          intervalMs?: number;
          debounceMs?: number;
          backoff?: { baseMs?: number; maxMs?: number };
        }
      | undefined
    >();
    expectTypeOf<ReturnType<Client['stop']>>().toEqualTypeOf<Promise<void>>();
  });
});
