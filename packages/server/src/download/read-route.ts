import type { Kysely } from 'kysely';
import { isDatabaseUnavailable } from '../driver/connection-errors.ts';
import { StandbyBehindError } from './database-history.ts';

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

/**
 * Reads a download page where `readDb` says, and from `db` (the primary)
 * when that database is down, cancelled the read for a replay conflict, or
 * declined it ({@link StandbyBehindError}: `read`'s second argument says
 * whether declining is allowed, that is, whether `db` is there to fall back
 * on): a standby that fails or lags costs the client latency, not progress.
 */
export function createReadRoute(
  db: AnyKysely,
  readDb: ReadDatabases | undefined,
): <T>(read: (db: AnyKysely, mayDecline: boolean) => Promise<T>) => Promise<T> {
  const pick = pickerOf(readDb);
  if (pick === undefined) return (read) => read(db, false);
  return async (read) => {
    const chosen = pick();
    if (chosen === db) return read(db, false);
    try {
      return await read(chosen, true);
    } catch (error) {
      const fallBack =
        error instanceof StandbyBehindError ||
        isDatabaseUnavailable(error) ||
        isRecoveryConflict(error);
      if (!fallBack) throw error;
      return read(db, false);
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
