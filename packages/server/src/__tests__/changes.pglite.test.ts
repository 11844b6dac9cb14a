import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteKysely } from '../driver/pglite-dialect.ts';
import { createSyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import { contactsConfig } from './download-support.ts';
import {
  insertContact,
  serveStandalone,
  sleep,
  subscribeOverHttp,
  syncClient,
  type TestContext,
} from './realtime-support.ts';

// One PGlite for the file: creating one takes seconds.
const pglite = new PGlite();
const db = createPgliteKysely<unknown>(pglite);
const config = contactsConfig('lite_rt');
// The hub comes from `db` on the first subscriber, on PGlite's own listen().
const router = createSyncRouter(config, {
  db,
  context: (ctx: TestContext) => ({ userId: ctx.user }),
  changes: { idleTimeoutMs: 0 },
});
let served: Awaited<ReturnType<typeof serveStandalone>>;

beforeAll(async () => {
  await migrateServer(db, config);
  served = await serveStandalone(router);
});

afterAll(async () => {
  served.server.close();
  served.server.closeAllConnections();
  await pglite.close();
});

describe('<group>.changes on PGlite', () => {
  it('pokes subscribers on an upload and on plain SQL, each only in its scope', async () => {
    const everyone = subscribeOverHttp(served.url, 'everything');
    const alice = subscribeOverHttp(served.url, 'mine', 'alice');
    await Promise.all([everyone.waitFor(1), alice.waitFor(1)]);

    await syncClient(served.url, 'bob').mine.upload.mutate(insertContact('l1', 'bob'));
    await everyone.waitFor(2, 1_000);

    await sql`insert into lite_rt_contacts (id, owner_id, name) values ('l2', 'alice', 'By SQL')`.execute(
      db,
    );
    await Promise.all([everyone.waitFor(3, 1_000), alice.waitFor(2, 1_000)]);
    await sleep(200);
    expect(alice.pokes).toHaveLength(2); // bob's upload did not reach her

    // A rolled-back write pokes nobody.
    await db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into lite_rt_contacts (id, owner_id, name) values ('l3', 'alice', 'x')`.execute(
          trx,
        );
        throw new Error('roll back');
      })
      .catch(() => {});
    await sleep(200);
    expect(everyone.pokes).toHaveLength(3);
    everyone.close();
    alice.close();
  });
});
