import type { Server } from 'node:http';
import type { ChangesEvent } from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { createChangeHub } from '../realtime/change-hub.ts';
import { createSyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { contactsConfig } from './download-support.ts';
import {
  insertContact,
  serveStandalone,
  syncClient,
  type TestContext,
  until,
} from './realtime-support.ts';

// Issue 24: a poked download waits (bounded) for a standby to replay the change, so the poke
// must tell where the primary's WAL stood when the change was heard: every protocol 2 poke
// carries `lsn` when the router reads downloads from standbys, pushes on or off.

const config = contactsConfig('lsn');
const database = await createTestDatabase('realtime_lsn');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
// Pushes off: pokes only.
const hub = createChangeHub(config, {
  db,
  pushes: false,
  coalesceMs: 20,
  onError: () => undefined,
});
const context = (ctx: TestContext) => ({ userId: ctx.user ?? '' });
const servers: Server[] = [];
const closers: (() => void)[] = [];

async function serve(readDb: Kysely<unknown> | undefined): Promise<string> {
  const router = createSyncRouter(config, {
    db,
    changes: hub,
    context,
    ...(readDb === undefined ? {} : { readDb }),
  });
  const { url, server } = await serveStandalone(router);
  servers.push(server);
  return url;
}

function subscribe(url: string, protocol: 1 | 2) {
  const events: ChangesEvent[] = [];
  const subscription = syncClient(url, 'u1').mine.changes.subscribe(
    protocol === 2 ? { protocol: 2 } : undefined,
    { onData: (event: ChangesEvent) => events.push(event) },
  );
  closers.push(() => subscription.unsubscribe());
  return {
    events,
    waitFor: (count: number) => until(() => events.length >= count, 5_000, `${count} events`),
  };
}

const walPosition = async () =>
  (await sql<{ lsn: string }>`select pg_current_wal_insert_lsn()::text as lsn`.execute(db)).rows[0]!
    .lsn;
/** A WAL position as a number: `<high>/<low>` in hex. */
const value = (text: string) => {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
};

let withStandbys = '';
let primaryOnly = '';

beforeAll(async () => {
  await migrateServer(db, config);
  // The primary given as its own read database: the router reads "standbys" all the same.
  withStandbys = await serve(db);
  primaryOnly = await serve(undefined);
});
afterAll(async () => {
  for (const close of closers) close();
  await until(() => hub.size === 0, 5_000, 'subscribers to leave');
  await hub.close();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await db.destroy();
  await database.drop();
});

describe('a poke tells the primary WAL position when downloads read standbys', () => {
  it('protocol 2 pokes carry lsn with readDb; protocol 1 pokes and routers without readDb do not', async () => {
    const v2 = subscribe(withStandbys, 2);
    const v1 = subscribe(withStandbys, 1);
    const plain = subscribe(primaryOnly, 2);
    await Promise.all([v2, v1, plain].map((s) => s.waitFor(1)));

    const before = await walPosition();
    await syncClient(withStandbys, 'u1').mine.upload.mutate(insertContact('lsn-1', 'u1'));
    await hub.flush();
    await Promise.all([v2, v1, plain].map((s) => s.waitFor(2)));

    expect(v2.events[1]).toMatchObject({ tables: ['contact'] });
    expect(v2.events[1]?.pages).toBeUndefined();
    expect(v2.events[1]?.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(v1.events[1]).toEqual({ tables: ['contact'] });
    expect(plain.events[1]).toEqual({ tables: ['contact'] });

    // Read after the change was heard: past where the WAL stood before the upload committed.
    expect(value(v2.events[1]!.lsn!)).toBeGreaterThan(value(before));
  });
});
