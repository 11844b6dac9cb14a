import {
  defineSyncConfig,
  PROTOCOL_VERSION,
  table,
  text,
  type UploadRequest,
  writeTimeFromMs,
} from '@carburetor/core';
import {
  type ChangeHub,
  createChangeHub,
  createPgKysely,
  migrateServer,
  uploadChanges,
} from '@carburetor/server';
import { type Kysely, sql } from 'kysely';
import { startBenchPostgres } from './bench-postgres.ts';
import { type Comparison, median, type Settled, settle, time } from './measure.ts';

/** Concurrent writers, and how many uploads each makes per timed sample. */
const LEVELS = [
  { writers: 1, uploads: 200 },
  { writers: 4, uploads: 100 },
  { writers: 16, uploads: 40 },
  { writers: 64, uploads: 12 },
] as const;
const PAIRS = 3;

const config = defineSyncConfig({
  tables: { note: table({ owner_id: text().immutable(), body: text() }) },
  syncGroups: { mine: { note: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
});

/**
 * Upload commits per second with realtime on against off, at 1, 4, 16 and
 * 64 concurrent writers: each writer uploads one changed row of its own
 * (an update of one column) per request through `uploadChanges`, one
 * transaction each. On: the notify triggers in place, a hub listening with
 * a subscriber, the uploads announced to it. Off: the notify triggers
 * disabled, no hub. A sample is the time of a fixed number of uploads, so
 * the ratio on/off of times is the inverse of the throughput ratio.
 */
export async function uploadRealtime(): Promise<Settled[]> {
  const postgres = await startBenchPostgres('upload-realtime-bench');
  // biome-ignore lint/suspicious/noExplicitAny: the bench's schema is the config's
  const db: Kysely<any> = createPgKysely({ connectionString: postgres.database.url, max: 70 });
  let hub: ChangeHub | undefined;
  try {
    // Commits as in production: the test server runs with fsync off, which makes a commit (and
    // so the time a commit holds a lock) unrealistically short.
    await sql`alter system set fsync = on`.execute(db);
    await sql`select pg_reload_conf()`.execute(db);
    await migrateServer(db, config);
    const writers = Math.max(...LEVELS.map((l) => l.writers));
    const ids = Array.from({ length: writers }, (_, w) => `note-${w}`);
    await sql`insert into notes (id, owner_id, body) select id, 'u1', 'start' from unnest(${ids}::text[]) as id`.execute(
      db,
    );
    hub = createChangeHub(config, { db });
    let pokes = 0;
    hub.subscribe('mine', { userId: 'u1' }, () => {
      pokes++;
    });
    await hub.ready();
    const realtimeHub = hub;

    // One write time per upload, ahead of everything before it (a row's later write must win).
    let last = 0;
    const stamp = () => {
      last = Math.max(last + 1, writeTimeFromMs(Date.now()));
      return last;
    };
    const upload = async (writer: number, realtime: boolean) => {
      const request: UploadRequest = {
        protocol: PROTOCOL_VERSION,
        clientId: `writer-${writer}`,
        tables: {
          note: [
            {
              op: 'update',
              id: ids[writer]!,
              columns: { body: { value: `w${stamp()}`, t: last } },
            },
          ],
        },
      };
      const response = await uploadChanges(
        db,
        config,
        'mine',
        request,
        { userId: 'u1' },
        realtime ? { changes: realtimeHub } : {},
      );
      if (!response.tables['note']?.results[0]?.ok) throw new Error('an upload was refused');
    };
    const setRealtime = async (on: boolean) => {
      const how = on ? sql`enable` : sql`disable`;
      await sql`alter table notes ${how} trigger _carburetor_notify_insert`.execute(db);
      await sql`alter table notes ${how} trigger _carburetor_notify_update`.execute(db);
    };
    const run = (count: number, each: number, realtime: boolean) =>
      time(() =>
        Promise.all(
          Array.from({ length: count }, async (_, w) => {
            for (let i = 0; i < each; i++) await upload(w, realtime);
          }),
        ),
      );

    // Warm up both paths (connections, plans, JIT).
    await setRealtime(false);
    await run(64, 4, false);
    await setRealtime(true);
    await run(64, 4, true);

    const rows = await settle('upload-realtime', async () => {
      const comparisons: Comparison[] = [];
      for (const { writers: count, uploads } of LEVELS) {
        const on: number[] = [];
        const off: number[] = [];
        for (let pair = 0; pair < PAIRS; pair++) {
          await setRealtime(false);
          off.push(await run(count, uploads, false));
          await setRealtime(true);
          on.push(await run(count, uploads, true));
        }
        comparisons.push({
          name: `${count} concurrent writer${count === 1 ? '' : 's'}, ${count * uploads} one-row uploads: time with realtime on vs off (0.9x throughput = 1.11x time)`,
          ours: on,
          baseline: off,
          limit: 1.11,
        });
      }
      return comparisons;
    });
    for (const row of rows) {
      const level = LEVELS[rows.indexOf(row)]!;
      const perSecond = (ms: number[]) => ((level.writers * level.uploads) / median(ms)) * 1000;
      console.log(
        `upload-realtime: ${level.writers} writers: on ${perSecond(row.ours).toFixed(0)} commits/s, off ${perSecond(row.baseline).toFixed(0)} commits/s`,
      );
    }
    if (pokes === 0) throw new Error('the subscriber was never poked: realtime was not on');
    return rows;
  } finally {
    await hub?.close();
    await db.destroy();
    await postgres.stop();
  }
}
