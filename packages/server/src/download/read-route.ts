import type { Kysely } from 'kysely';
import { isDatabaseUnavailable } from '../driver/connection-errors.ts';
import { readHistory, StandbyBehindError } from './database-history.ts';
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

/** How long the primary's history, once read, is taken as current. */
const PRIMARY_HISTORY_TTL_MS = 1_000;

/**
 * Reads a download page where `readDb` says, and from `db` (the primary)
 * when that database is down, cancelled the read for a replay conflict, or
 * declined it ({@link StandbyBehindError}: `read`'s second argument, the
 * options to download with, asks a standby to decline when it is behind
 * the cursor or shows another history than the primary, read from `db` at
 * most once a second). A standby that fails or lags costs the client
 * latency, not progress; while the primary cannot be reached, standbys
 * serve with the history it showed last.
 */
export function createReadRoute(
  db: AnyKysely,
  readDb: ReadDatabases | undefined,
): <T>(read: (db: AnyKysely, options: DownloadOptions) => Promise<T>) => Promise<T> {
  const pick = pickerOf(readDb);
  if (pick === undefined) return (read) => read(db, {});
  let known: { history: string; at: number } | undefined;
  let reading: Promise<void> | undefined;
  const primaryHistory = async (): Promise<string | undefined> => {
    if (known === undefined || performance.now() - known.at > PRIMARY_HISTORY_TTL_MS) {
      reading ??= readHistory(db)
        .then((history) => {
          known = { history, at: performance.now() };
        })
        .catch(() => undefined)
        .finally(() => {
          reading = undefined;
        });
      await reading;
    }
    return known?.history;
  };
  return async (read) => {
    const chosen = pick();
    if (chosen === db) return read(db, {});
    try {
      return await read(chosen, {
        refuseWhenBehind: true,
        primaryHistory: await primaryHistory(),
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
