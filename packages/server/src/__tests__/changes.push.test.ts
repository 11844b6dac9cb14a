import {
  boolean,
  type ChangesEvent,
  defineSyncConfig,
  PROTOCOL_VERSION,
  pushContinues,
  table,
  text,
  type UploadRequest,
} from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { type ChangePoke, createChangeHub } from '../realtime/change-hub.ts';
import { createSyncRouter, type SyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { uploadChanges } from '../upload/upload.ts';
import { serveStandalone, type TestContext, until } from './realtime-support.ts';

// Issue 23: changes pushed with their rows. A page is read once per (group,
// scope) and change, shared by every subscriber of the scope; it continues
// the cursors of clients that had the change before it, and carries nothing
// another scope may not see.

const config = defineSyncConfig({
  tables: {
    note: table(
      { plural: 'push_notes' },
      { owner_id: text().immutable(), body: text(), published: boolean().default(false) },
    ),
  },
  syncGroups: {
    mine: { note: { restrictTo: { column: 'owner_id', context: 'userId' } } },
    // Restricted and filtered: a row leaving the filter is out of scope for its owner only.
    my_published: {
      note: { restrictTo: { column: 'owner_id', context: 'userId' }, filter: { published: true } },
    },
  },
});
type Group = keyof typeof config.groups & string;

const database = await createTestDatabase('realtime_push');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
const hub = createChangeHub(config, {
  db,
  coalesceMs: 20,
  onError: () => undefined,
});
const router = createSyncRouter(config, {
  db,
  // Downloads "from a standby" (the primary again): events carry the WAL position to wait for.
  readDb: db,
  changes: hub,
  context: (ctx: TestContext) => ({ userId: ctx.user }),
});
let url = '';
let server: import('node:http').Server | undefined;
const closers: (() => void)[] = [];

beforeAll(async () => {
  await migrateServer(db, config);
  ({ url, server } = await serveStandalone(router));
});
afterAll(async () => {
  for (const close of closers) close();
  await until(() => hub.size === 0, 5_000, 'subscribers to leave');
  await hub.close();
  server?.closeAllConnections();
  server?.close();
  await db.destroy();
  await database.drop();
});

function client(user: string) {
  const headers = { 'x-user': user };
  return createTRPCClient<SyncRouter<typeof config>>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
          },
        }),
        false: httpLink({ url, headers }),
      }),
    ],
  });
}

/** A subscriber of `group` as `user`, protocol 2 unless `protocol: 1`. */
function subscribe(group: Group, user: string, protocol: 1 | 2 = 2) {
  const events: ChangesEvent[] = [];
  const subscription = client(user)[group].changes.subscribe(
    protocol === 2 ? { protocol: 2 } : undefined,
    { onData: (event) => events.push(event) },
  );
  closers.push(() => subscription.unsubscribe());
  return {
    events,
    waitFor: (count: number) => until(() => events.length >= count, 5_000, `${count} events`),
  };
}

let counter = 0;
function insert(owner: string, body: string, published = false): UploadRequest & { id: string } {
  const t = Date.now() * 1000 + (++counter % 1000);
  const id = `n${++counter}`;
  return {
    id,
    protocol: PROTOCOL_VERSION,
    clientId: 'writer',
    tables: {
      note: [
        {
          op: 'insert',
          id,
          columns: {
            owner_id: { value: owner, t },
            body: { value: body, t },
            published: { value: published, t },
          },
        },
      ],
    },
  };
}
const upload = async (
  user: string,
  group: Group,
  { id: _, ...request }: UploadRequest & { id: string },
) => {
  await client(user)[group].upload.mutate(request);
  await hub.flush();
};
const idsOf = (event: ChangesEvent | undefined) => event?.pages?.['note']?.rows.map((r) => r[0]);

describe('<group>.changes with protocol 2', () => {
  it('pushes the changed rows to 20 subscribers of one scope with one read, none to another scope', async () => {
    const ann = Array.from({ length: 20 }, () => subscribe('mine', 'ann'));
    const bob = subscribe('mine', 'bob');
    await Promise.all([...ann, bob].map((s) => s.waitFor(1)));
    expect(ann[0]?.events[0]).toEqual({ tables: ['note'] }); // listening: download now

    // The scope's first change starts its chain: a poke, the clients download.
    await upload('ann', 'mine', insert('ann', 'first'));
    await Promise.all(ann.map((s) => s.waitFor(2)));
    expect(ann.every((s) => s.events[1]?.pages?.['note'] === undefined)).toBe(true);
    // The table to download comes with the primary's WAL position: the download's `after`.
    expect(ann[0]?.events[1]?.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    const reads = hub.pushReads;
    const second = insert('ann', 'second');
    await upload('ann', 'mine', second);
    await Promise.all(ann.map((s) => s.waitFor(3)));
    expect(hub.pushReads - reads).toBe(1);
    const pushed = ann.map((s) => s.events[2]);
    expect(idsOf(pushed[0])).toEqual([second.id]);
    expect(pushed[0]?.pages?.['note']).toMatchObject({ hasMore: false, reset: false });
    // One page, shared: every subscriber got the same one.
    for (const event of pushed) expect(event).toEqual(pushed[0]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(bob.events).toHaveLength(1);
  });

  it('a pushed page continues the cursor of a client that downloaded before it; a cursor older than its start has a gap', async () => {
    const sub = subscribe('mine', 'cleo');
    await sub.waitFor(1);
    const old = await client('cleo').mine.download.mutate({
      protocol: PROTOCOL_VERSION,
      clientId: 'reader',
      tables: { note: { cursor: null, hasRows: false } },
    });
    await upload('cleo', 'mine', insert('cleo', 'starts the chain'));
    await sub.waitFor(2);
    const caughtUp = await client('cleo').mine.download.mutate({
      protocol: PROTOCOL_VERSION,
      clientId: 'reader',
      tables: { note: { cursor: old.tables['note']!.cursor, hasRows: true } },
    });
    const row = insert('cleo', 'pushed');
    await upload('cleo', 'mine', row);
    await sub.waitFor(3);
    const page = sub.events[2]?.pages?.['note'];
    expect(page?.rows.map((r) => r[0])).toEqual([row.id]);
    expect(pushContinues(caughtUp.tables['note']!.cursor, page!.from, page!.cursor)).toBe('apply');
    expect(pushContinues(old.tables['note']!.cursor, page!.from, page!.cursor)).toBe('gap');
    expect(pushContinues(page!.cursor, page!.from, page!.cursor)).toBe('skip');
    // What a download from the same cursor returns: the same row.
    const downloaded = await client('cleo').mine.download.mutate({
      protocol: PROTOCOL_VERSION,
      clientId: 'reader',
      tables: { note: { cursor: caughtUp.tables['note']!.cursor, hasRows: true } },
    });
    expect(downloaded.tables['note']?.rows.map((r) => r[0])).toContain(row.id);
  });

  it("a shared push never carries another caller's out-of-scope ids", async () => {
    const dana = subscribe('my_published', 'dana');
    const eve = subscribe('my_published', 'eve');
    await Promise.all([dana.waitFor(1), eve.waitFor(1)]);
    await upload('dana', 'mine', insert('dana', 'starts dana', true));
    const evesRow = insert('eve', 'eve public', true);
    await upload('eve', 'mine', evesRow);
    await Promise.all([dana.waitFor(2), eve.waitFor(2)]);
    // Eve unpublishes: the row leaves her filter (out of scope for her), Dana writes too.
    await sql`update push_notes set published = false where id = ${evesRow.id}`.execute(db);
    const danas = insert('dana', 'dana again', true);
    await upload('dana', 'mine', danas);
    await until(
      () =>
        eve.events.some((e) => e.pages?.['note']?.outOfScope.includes(evesRow.id)) ||
        eve.events.length >= 4,
      5_000,
      "eve's out-of-scope entry",
    );
    await until(() => dana.events.some((e) => idsOf(e)?.includes(danas.id)), 5_000, "dana's push");
    const everything = JSON.stringify(dana.events);
    expect(everything).not.toContain(evesRow.id);
  });

  it('a protocol 1 client (the release before pushes) is answered in version 1; an unknown version is refused by name', async () => {
    const { id: _, ...row } = insert('gus', 'from an older client');
    const uploaded = await client('gus').mine.upload.mutate({ ...row, protocol: 1 });
    expect(uploaded.protocol).toBe(1);
    expect(uploaded.tables['note']?.results[0]).toMatchObject({ ok: true });
    const downloaded = await client('gus').mine.download.mutate({
      protocol: 1,
      clientId: 'older',
      tables: { note: { cursor: null, hasRows: false } },
    });
    expect(downloaded.protocol).toBe(1);
    expect(downloaded.tables['note']?.rows).toHaveLength(1);
    await expect(
      client('gus').mine.download.mutate({
        protocol: 4 as never,
        clientId: 'newer',
        tables: { note: { cursor: null, hasRows: false } },
      }),
    ).rejects.toThrow(
      /protocol version 4 is not supported; this server speaks versions 1, 2 and 3/,
    );
  });

  it('a burst of concurrent uploads is pushed once, read once; a lone upload is pushed at once', async () => {
    // A long window: a poke held to its end would show.
    const burstHub = createChangeHub(config, { db, coalesceMs: 1_000, onError: () => undefined });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const write = ({ id: _, ...request }: UploadRequest & { id: string }) =>
      uploadChanges(db, config, 'mine', request, { userId: 'hana' }, { changes: burstHub });
    try {
      const pokes: ChangePoke[] = [];
      burstHub.subscribe('mine', { userId: 'hana' }, (poke) => pokes.push(poke), {
        pushes: true,
      });
      await burstHub.ready();
      await write(insert('hana', 'starts the chain'));
      await until(() => pokes.length === 1, 5_000, 'the first poke');
      await sleep(1_100);

      const reads = burstHub.pushReads;
      const burst = Array.from({ length: 10 }, (_, n) => insert('hana', `burst ${n}`));
      await Promise.all(burst.map(write));
      await until(() => pokes.length === 2, 5_000, "the burst's poke");
      await sleep(1_100); // nothing held back to the window's end
      expect(pokes).toHaveLength(2);
      expect(burstHub.pushReads - reads).toBe(1);
      expect(pokes[1]?.pages?.['note']?.rows.map((r) => r[0]).sort()).toEqual(
        burst.map((r) => r.id).sort(),
      );

      const lone = insert('hana', 'lone');
      await write(lone);
      const written = performance.now();
      await until(() => pokes.length === 3, 5_000, "the lone upload's poke");
      expect(performance.now() - written).toBeLessThan(500);
      expect(pokes[2]?.pages?.['note']?.rows.map((r) => r[0])).toEqual([lone.id]);
    } finally {
      await burstHub.close();
    }
  });

  it('protocol 1 subscribers get pokes only, as before', async () => {
    const old = subscribe('mine', 'finn', 1);
    await old.waitFor(1);
    await upload('finn', 'mine', insert('finn', 'one'));
    await upload('finn', 'mine', insert('finn', 'two'));
    await old.waitFor(3);
    for (const event of old.events) expect(event).toEqual({ tables: ['note'] });
  });
});
