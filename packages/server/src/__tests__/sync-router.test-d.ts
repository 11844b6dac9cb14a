import type {
  ChangesEvent,
  DownloadRequest,
  DownloadResponse,
  UploadRequest,
  UploadResponse,
} from '@carburetor/core';
import { createTRPCClient, httpLink } from '@trpc/client';
import { type inferRouterInputs, type inferRouterOutputs, initTRPC } from '@trpc/server';
import type { Kysely } from 'kysely';
import { describe, expectTypeOf, it } from 'vitest';
import { createSyncRouter } from '../router/sync-router.ts';
import { contactsConfig } from './download-support.ts';

declare const db: Kysely<unknown>;
const config = contactsConfig('types');

describe('createSyncRouter types', () => {
  it('types each group’s procedures for a tRPC client', () => {
    const router = createSyncRouter(config, { db, context: () => ({ userId: 'u1' }) });
    const client = createTRPCClient<typeof router>({ links: [httpLink({ url: '/api/sync' })] });
    expectTypeOf(client.mine.download.mutate).parameter(0).toEqualTypeOf<DownloadRequest>();
    expectTypeOf(client.mine.download.mutate).returns.resolves.toEqualTypeOf<DownloadResponse>();
    expectTypeOf(client.directory.upload.mutate).parameter(0).toEqualTypeOf<UploadRequest>();
    expectTypeOf(client.everything.upload.mutate).returns.resolves.toEqualTypeOf<UploadResponse>();
    type Inputs = inferRouterInputs<typeof router>;
    type Outputs = inferRouterOutputs<typeof router>;
    expectTypeOf<Inputs['mine']['download']>().toEqualTypeOf<DownloadRequest>();
    expectTypeOf<Outputs['mine']['upload']>().toEqualTypeOf<UploadResponse>();
    client.mine.changes.subscribe(
      { protocol: 2 },
      {
        onData: (event) => expectTypeOf(event).toEqualTypeOf<ChangesEvent>(),
      },
    );
    client.mine.changes.subscribe(undefined, {
      onData: (event) => expectTypeOf(event).toEqualTypeOf<ChangesEvent>(),
    });
    // @ts-expect-error: no such group
    client.nope.download.mutate;
    // @ts-expect-error: downloads are mutations, never queries (cursors stay out of URLs)
    client.mine.download.query;
  });

  it("types the context function by the app's procedure", () => {
    const t = initTRPC.context<{ session: { user?: { id: string } } }>().create();
    const authed = t.procedure.use(({ ctx, next }) => {
      const user = ctx.session.user;
      if (!user) throw new Error('sign in');
      return next({ ctx: { user } });
    });
    createSyncRouter(config, {
      db,
      procedure: authed,
      context: (ctx) => {
        expectTypeOf(ctx.user).toEqualTypeOf<{ id: string }>();
        return { userId: ctx.user.id };
      },
    });
    createSyncRouter(config, {
      db,
      procedure: authed,
      // @ts-expect-error: the context has no `account`
      context: (ctx) => ({ userId: ctx.account.id }),
    });
  });
});
