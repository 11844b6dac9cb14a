import type { Kysely } from 'kysely';
import { isDatabaseUnavailable } from '../driver/connection-errors.ts';

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
 * when that database is down or cancelled the read for a replay conflict:
 * a standby that fails costs the client nothing but latency.
 */
export function createReadRoute(
  db: AnyKysely,
  readDb: ReadDatabases | undefined,
): <T>(read: (db: AnyKysely) => Promise<T>) => Promise<T> {
  const pick = pickerOf(readDb);
  if (pick === undefined) return (read) => read(db);
  return async (read) => {
    const chosen = pick();
    if (chosen === db) return read(db);
    try {
      return await read(chosen);
    } catch (error) {
      if (!isDatabaseUnavailable(error) && !isRecoveryConflict(error)) throw error;
      return read(db);
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
