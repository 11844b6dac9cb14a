import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type DownloadRequest,
  defineSyncConfig,
  integer,
  PROTOCOL_VERSION,
  table,
  text,
} from '@carburetor/core';
import {
  createPgKysely,
  createSyncRouter,
  migrateServer,
  type SyncRouter,
} from '@carburetor/server';
import { startPostgresServer } from '@carburetor/testing/postgres-server';
import { startStreamingStandby } from '@carburetor/testing/standby';
import { createTRPCClient, httpLink } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import { type Settled, settle, sideBySide } from './measure.ts';

/** Concurrent HTTP clients, and what each downloads per run. */
export const STANDBY_BENCH = {
  clients: 16,
  rows: 1_000,
  pageSize: 100,
  passesPerClient: 5,
  /** Rows a background writer changes on the primary every 50 ms, during both sides. */
  writes: 5,
} as const;
const PAGES_PER_RUN =
  STANDBY_BENCH.clients *
  STANDBY_BENCH.passesPerClient *
  Math.ceil(STANDBY_BENCH.rows / STANDBY_BENCH.pageSize);

const config = defineSyncConfig({
  tables: {
    contact: table(
      { plural: 'standby_contacts' },
      { owner_id: text().immutable(), name: text(), rank: integer().default(0) },
    ),
  },
  syncGroups: { everything: { contact: true } },
});

/**
 * Download pages per second served by a router whose downloads read from
 * two streaming standbys (`readDb`, round robin) against the same router on
 * the primary alone, under the same load: 16 HTTP clients each running
 * first-download passes over 1,000 rows in pages of 100, while a writer
 * changes rows on the primary. Everything on one machine: with 2 cores,
 * three PostgreSQL servers share the CPU the one had, so this measures the
 * overhead of serving from standbys (replay, routing, declined pages), not
 * the capacity they add on machines of their own.
 */
export async function standbyDownloads(runs = 3): Promise<Settled[]> {
  const primary = await startPostgresServer();
  const standbys = [await startStreamingStandby(primary), await startStreamingStandby(primary)];
  // biome-ignore lint/suspicious/noExplicitAny: any schema
  const kyselys: Kysely<any>[] = [];
  const servers: Server[] = [];
  let writing = true;
  let writer: Promise<void> = Promise.resolve();
  try {
    const db = createPgKysely(primary.url);
    kyselys.push(db);
    const readDb = standbys.map((s) => createPgKysely(s.url));
    kyselys.push(...readDb);
    await migrateServer(db, config);
    await sql`insert into standby_contacts (id, owner_id, name)
      select 'c' || lpad(n::text, 6, '0'), 'u', 'Contact ' || n
      from generate_series(1, ${STANDBY_BENCH.rows}) n`.execute(db);
    await sql`vacuum analyze standby_contacts`.execute(db);
    for (const s of standbys) await s.catchUp();

    const serve = async (router: ReturnType<typeof createSyncRouter<typeof config>>) => {
      const server = createHTTPServer({ router });
      server.keepAliveTimeout = 120_000;
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const onPrimary = await serve(createSyncRouter(config, { db }));
    const onStandbys = await serve(createSyncRouter(config, { db, readDb }));

    writer = (async () => {
      while (writing) {
        await sql`update standby_contacts set rank = rank + 1
          where id in (select id from standby_contacts order by random() limit ${STANDBY_BENCH.writes})`.execute(
          db,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    const load = (url: string) => async () => {
      let pages = 0;
      await Promise.all(
        Array.from({ length: STANDBY_BENCH.clients }, async () => {
          const client = createTRPCClient<SyncRouter<typeof config>>({
            links: [httpLink({ url })],
          });
          for (let pass = 0; pass < STANDBY_BENCH.passesPerClient; pass++) {
            let cursor: string | null = null;
            for (let page = 0; ; page++) {
              const request: DownloadRequest = {
                protocol: PROTOCOL_VERSION,
                clientId: 'bench',
                tables: { contact: { cursor, hasRows: false } },
                pageSize: STANDBY_BENCH.pageSize,
              };
              const answer = await client.everything.download.mutate(request);
              pages++;
              cursor = answer.tables['contact']!.cursor;
              // A first download of fixed size: the rows the writer changes meanwhile are the next pass's.
              if (!answer.hasMore || page + 1 >= STANDBY_BENCH.rows / STANDBY_BENCH.pageSize) break;
            }
          }
        }),
      );
      if (pages !== PAGES_PER_RUN) throw new Error(`expected ${PAGES_PER_RUN} pages, got ${pages}`);
    };
    await load(onStandbys)(); // warm up both
    await load(onPrimary)();
    return await settle('server-download-standbys', async () => {
      const samples = await sideBySide(runs, load(onStandbys), load(onPrimary));
      return [
        {
          name: `${PAGES_PER_RUN} download pages by ${STANDBY_BENCH.clients} concurrent HTTP clients: primary + 2 standbys (readDb) vs the primary alone (time; pages/s = ${PAGES_PER_RUN} / time)`,
          ...samples,
          limit: 1.5,
        },
      ];
    });
  } finally {
    writing = false;
    await writer.catch(() => undefined);
    for (const server of servers) server.close();
    for (const k of kyselys) await k.destroy();
    for (const s of standbys) await s.stop();
    await primary.stop();
  }
}
