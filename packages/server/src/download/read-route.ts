import { type Kysely, sql } from 'kysely';
import { isDatabaseUnavailable } from '../driver/connection-errors.ts';
import { type PrimaryIdentity, readIdentity, StandbyBehindError } from './database-history.ts';
import type { DownloadOptions } from './download.ts';

// biome-ignore lint/suspicious/noExplicitAny: works on any database schema
type AnyKysely = Kysely<any>;

/**
 * Where download pages are read: one read-only Kysely (a streaming
 * standby), several (each page goes to the next one, round robin), or a
 * function that picks one for each page (your own policy: by lag, by
 * region). Any routing is safe, page by page: a pass's floor is the lowest
 * snapshot xmin of its pages (docs/scaling.md).
 *
 * @example
 * ```ts
 * createSyncRouter(config, { db: primary, readDb: [standbyA, standbyB] });
 * createSyncRouter(config, { db: primary, readDb: () => (lagging ? primary : standbyA) });
 * ```
 */
export type ReadDatabases = AnyKysely | readonly AnyKysely[] | (() => AnyKysely);

/** SQLSTATEs of a standby cancelling a query that conflicts with replay (serialization failure, deadlock with the startup process). */
const RECOVERY_CONFLICT_STATES = new Set(['40001', '40P01']);

/** How long the primary's history and start, once read, are taken as current. */
const PRIMARY_IDENTITY_TTL_MS = 1_000;

/**
 * How long a download that names a change (`after`, a WAL position) waits
 * for a standby to replay it before the primary reads the page instead.
 */
export const REPLAY_WAIT_MS = 250;
const REPLAY_POLL_MS = 10;

/** Whether the standby has replayed up to `after`, waiting up to {@link REPLAY_WAIT_MS}. */
async function replayed(standby: AnyKysely, after: string): Promise<boolean> {
  const deadline = performance.now() + REPLAY_WAIT_MS;
  for (;;) {
    const { rows } = await sql<{ done: boolean | null }>`
      select pg_last_wal_replay_lsn() >= ${after}::pg_lsn as done`.execute(standby);
    // null: not a standby (a primary given as readDb has everything it committed).
    if (rows[0]?.done !== false) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS));
  }
}

/**
 * Reads a download page where `readDb` says, and from `db` (the primary)
 * when that database is down, cancelled the read for a replay conflict, or
 * declined it ({@link StandbyBehindError}: `read`'s second argument, the
 * options to download with, asks a standby to decline when it is behind
 * the cursor or shows another history than the primary, read from `db` at
 * most once a second with the primary's start, which lowers cursors made
 * before the primary restarted). A download that names a change (`after`, a WAL
 * position) waits up to {@link REPLAY_WAIT_MS} for the standby to replay
 * it, then reads the primary. A standby that fails or lags costs the client
 * latency, not progress; while the primary cannot be reached, standbys
 * serve with the history it showed last.
 */
export function createReadRoute(
  db: AnyKysely,
  readDb: ReadDatabases | undefined,
): <T>(
  read: (db: AnyKysely, options: DownloadOptions) => Promise<T>,
  after?: string,
) => Promise<T> {
  const pick = pickerOf(readDb);
  if (pick === undefined) return (read) => read(db, {});
  let known: { identity: PrimaryIdentity; at: number } | undefined;
  let reading: Promise<void> | undefined;
  const primary = async (): Promise<PrimaryIdentity | undefined> => {
    if (known === undefined || performance.now() - known.at > PRIMARY_IDENTITY_TTL_MS) {
      reading ??= readIdentity(db)
        .then((identity) => {
          known = { identity, at: performance.now() };
        })
        .catch(() => undefined)
        .finally(() => {
          reading = undefined;
        });
      await reading;
    }
    return known?.identity;
  };
  return async (read, after) => {
    const chosen = pick();
    if (chosen === db) return read(db, {});
    try {
      // A change the client was told of: the standby serves once it has replayed it.
      if (after !== undefined && !(await replayed(chosen, after))) return read(db, {});
      const identity = await primary();
      return await read(chosen, {
        refuseWhenBehind: true,
        primaryHistory: identity?.history,
        primaryStarted: identity?.started,
      });
    } catch (error) {
      const fallBack =
        error instanceof StandbyBehindError ||
        isDatabaseUnavailable(error) ||
        isRecoveryConflict(error);
      if (!fallBack) throw error;
      return read(db, {});
    }
  };
}

function pickerOf(readDb: ReadDatabases | undefined): (() => AnyKysely) | undefined {
  if (readDb === undefined) return undefined;
  if (typeof readDb === 'function') return readDb as () => AnyKysely;
  if (!Array.isArray(readDb)) return () => readDb as AnyKysely;
  const list = readDb as readonly AnyKysely[];
  if (list.length === 0) {
    throw new TypeError(
      'createSyncRouter: readDb is an empty list; give one or more read-only Kyselys (streaming standbys), or leave readDb out to read downloads from db.',
    );
  }
  let next = 0;
  return () => {
    const chosen = list[next % list.length]!;
    next = (next + 1) % list.length;
    return chosen;
  };
}

function isRecoveryConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RECOVERY_CONFLICT_STATES.has(code);
}
