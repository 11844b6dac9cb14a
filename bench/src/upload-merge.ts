import type { AddressInfo } from 'node:net';
import {
  defineSyncConfig,
  integer,
  MAX_UPLOAD_ROWS,
  PROTOCOL_VERSION,
  table,
  text,
  type UploadRow,
  writeTimeFromMs,
} from '@carburetor/core';
import {
  createPgKysely,
  createSyncRouter,
  migrateServer,
  type SyncRouter,
} from '@carburetor/server';
import { createTRPCClient, httpLink } from '@trpc/client';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { sql } from 'kysely';
import pg from 'pg';
import { startBenchPostgres } from './bench-postgres.ts';
import { type Settled, settle, sideBySide } from './measure.ts';

const ROWS = 10_000;
const RUNS = 7;

const config = defineSyncConfig({
  tables: {
    item: table({
      owner_id: text().immutable(),
      title: text(),
      qty: integer(),
      note: text().nullable(),
    }),
  },
  syncGroups: { mine: { item: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
});

const ids = Array.from({ length: ROWS }, (_, i) => `item-${String(i).padStart(6, '0')}`);
const batches = <T>(list: readonly T[]) =>
  Array.from({ length: Math.ceil(list.length / MAX_UPLOAD_ROWS) }, (_, i) =>
    list.slice(i * MAX_UPLOAD_ROWS, (i + 1) * MAX_UPLOAD_ROWS),
  );

/**
 * Upload of 10k changed rows (updates of 2 columns of existing rows) through
 * the tRPC router over real HTTP, in requests of MAX_UPLOAD_ROWS, against a
 * raw pg UNNEST upsert of the same rows in batches of the same size.
 */
export async function uploadMerge(): Promise<Settled[]> {
  const postgres = await startBenchPostgres('upload-bench');
  const db = createPgKysely<unknown>(postgres.database.url);
  const pool = new pg.Pool({ connectionString: postgres.database.url, max: 2 });
  const server = createHTTPServer({
    router: createSyncRouter(config, { db, context: () => ({ userId: 'u1' }) }),
  });
  try {
    await migrateServer(db, config);
    await sql`insert into items (id, owner_id, title, qty) select id, 'u1', 'start', 0 from unnest(${ids}::text[]) as id`.execute(
      db,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = createTRPCClient<SyncRouter<typeof config>>({
      links: [httpLink({ url: `http://127.0.0.1:${port}` })],
    });

    let round = 0;
    // Ahead of the trigger's stamps from the baseline's plain SQL writes, within the skew tolerance.
    const writeTime = () => writeTimeFromMs(Date.now() + 5_000);
    const ours = async () => {
      round++;
      const t = writeTime();
      const rows: UploadRow[] = ids.map((id, i) => ({
        op: 'update',
        id,
        columns: { title: { value: `ours ${round} ${i}`, t }, qty: { value: round, t } },
      }));
      for (const batch of batches(rows)) {
        const response = await client.mine.upload.mutate({
          protocol: PROTOCOL_VERSION,
          clientId: 'bench',
          tables: { item: batch },
        });
        const refused = response.tables['item']?.results.filter((r) => !r.ok).length;
        if (refused !== 0) throw new Error(`${refused} rows refused in round ${round}`);
      }
    };
    const baseline = async () => {
      round++;
      for (const batch of batches(ids)) {
        await pool.query(
          `insert into items (id, owner_id, title, qty)
           select * from unnest($1::text[], $2::text[], $3::text[], $4::int[])
           on conflict (id) do update set title = excluded.title, qty = excluded.qty`,
          [
            batch,
            batch.map(() => 'u1'),
            batch.map((_, i) => `raw ${round} ${i}`),
            batch.map(() => round),
          ],
        );
      }
    };
    // Warm up both paths (connections, plans, JIT of the merge code).
    await baseline();
    await ours();
    return await settle('server-upload', async () => [
      {
        name: `upload ${ROWS} changed rows (2 columns) via router over HTTP vs raw UNNEST upsert`,
        ...(await sideBySide(RUNS, ours, baseline)),
        limit: 1.5,
      },
    ]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await db.destroy();
    await pool.end();
    await postgres.stop();
  }
}
