import { createSyncRouter } from '@carburetor/server';
import {
  createTRPCClient,
  createTRPCUntypedClient,
  type TRPCClient,
  type TRPCUntypedClient,
} from '@trpc/client';
import { type AnyRouter, initTRPC } from '@trpc/server';
import type { Kysely } from 'kysely';
import { describe, expectTypeOf, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import type { inferSyncPath } from '../client/sync-client-options.ts';
import { memoryDriver } from '../node/index.ts';
import { phoneBookConfig } from './fixtures.ts';

// biome-ignore lint/suspicious/noExplicitAny: any schema
declare const db: Kysely<any>;
const t = initTRPC.create();
const sync = createSyncRouter(phoneBookConfig, { db, context: () => ({ userId: 'u' }) });
const directoryOnly = createSyncRouter(phoneBookConfig, { db, context: () => ({}) });
const appRouter = t.router({
  whoami: t.procedure.query(() => 'u'),
  sync,
  api: t.router({ v1: t.router({ carb: sync }), ping: t.procedure.query(() => 1) }),
});
type AppClient = TRPCClient<typeof appRouter>;

describe('`path` with a typed trpcClient (issue 20)', () => {
  test('is one of the mounts of the sync router in the app router', () => {
    expectTypeOf<inferSyncPath<AppClient, 'directory'>>().toEqualTypeOf<'sync' | 'api.v1.carb'>();
    expectTypeOf<inferSyncPath<AppClient, 'private_contacts' | 'directory'>>().toEqualTypeOf<
      'sync' | 'api.v1.carb'
    >();
    // A group the mounted router does not serve: no path reaches it.
    expectTypeOf<inferSyncPath<AppClient, 'nope'>>().toBeNever();
    // The sync router served directly: the root ('' or no `path`).
    expectTypeOf<
      inferSyncPath<TRPCClient<typeof directoryOnly>, 'directory'>
    >().toEqualTypeOf<''>();
  });

  test('an untyped client, an AnyRouter client or none: any string', () => {
    expectTypeOf<inferSyncPath<TRPCClient<AnyRouter>, 'directory'>>().toEqualTypeOf<string>();
    expectTypeOf<
      inferSyncPath<TRPCUntypedClient<typeof appRouter>, 'directory'>
    >().toEqualTypeOf<string>();
    expectTypeOf<inferSyncPath<object, 'directory'>>().toEqualTypeOf<string>();
  });

  test('createSyncClient refuses a misspelled path', () => {
    const trpcClient = createTRPCClient<typeof appRouter>({ links: [] });
    const driver = memoryDriver();
    const groups = ['directory'] as const;
    void createSyncClient(phoneBookConfig, { driver, trpcClient, path: 'sync', groups });
    void createSyncClient(phoneBookConfig, { driver, trpcClient, path: 'api.v1.carb', groups });
    // @ts-expect-error the app router mounts nothing at 'synk'
    void createSyncClient(phoneBookConfig, { driver, trpcClient, path: 'synk', groups });
    // With `url` or an untyped client, the path is a string, checked when the client syncs.
    void createSyncClient(phoneBookConfig, { driver, url: '/api/trpc', path: 'synk', groups });
    const untyped = createTRPCUntypedClient<typeof appRouter>({ links: [] });
    void createSyncClient(phoneBookConfig, {
      driver,
      trpcClient: untyped,
      path: 'synk',
      groups,
    });
  });
});
