import { type Kysely, sql } from 'kysely';
import type { CursorState } from './cursor.ts';

/**
 * What the first statement of a download page learns, from the snapshot
 * every table of the page is then read from.
 */
export interface SnapshotHead {
  /** The snapshot's xmin: every transaction below it had ended. */
  readonly xmin: string;
  /** The snapshot's xmax: the next xid this database would hand out (on a standby: as far as it replayed). */
  readonly nextXid: string;
  /**
   * Which history of which database cluster the page was read from:
   * `<system identifier>.<timeline>`. A primary and its streaming standbys
   * share the system identifier; promoting a standby starts a new timeline.
   */
  readonly history: string;
  /** Whether the page was read from a standby (a server in recovery). */
  readonly standby: boolean;
  /** Server time, ms since the epoch. */
  readonly now: number;
}

/** `<system identifier>.<timeline>` of the database a statement runs on (see {@link readSnapshotHead}). */
const HISTORY_SQL = sql<string>`(select system_identifier from pg_control_system())::text || '.' || (
  case when pg_is_in_recovery() then (select timeline_id from pg_control_checkpoint())::int8
  else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int8 end
)::text`;

/** The history of a database, as {@link SnapshotHead.history} says it. */
// biome-ignore lint/suspicious/noExplicitAny: works on any database schema
export async function readHistory(db: Kysely<any>): Promise<string> {
  const result = await sql<{ history: string }>`select ${HISTORY_SQL} as history`.execute(db);
  return result.rows[0]!.history;
}

/**
 * Takes the page's snapshot and reads its head. Works on a read-only
 * standby: nothing here writes or needs a transaction id.
 *
 * On a primary the timeline is the one it writes WAL on (from the name of
 * its current WAL file), exact from the moment of a promotion. A standby
 * answers only `pg_control_checkpoint()`, the timeline of its last
 * restartpoint: one that follows a promoted primary shows the new timeline
 * after its next restartpoint (docs/scaling.md's failover runbook: run
 * `CHECKPOINT` on it).
 */
export async function readSnapshotHead(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
): Promise<SnapshotHead> {
  const result = await sql<{
    xmin: string;
    next: string;
    history: string;
    standby: boolean;
    now: number;
  }>`
    select pg_snapshot_xmin(s)::text as xmin, pg_snapshot_xmax(s)::text as next,
      ${HISTORY_SQL} as history,
      pg_is_in_recovery() as standby,
      floor(extract(epoch from clock_timestamp()) * 1000)::float8 as now
    from pg_current_snapshot() as s`.execute(trx);
  const row = result.rows[0]!;
  return {
    xmin: row.xmin,
    nextXid: row.next,
    history: row.history,
    standby: row.standby,
    now: row.now,
  };
}

/**
 * Why a cursor's positions cannot be trusted on this database, or
 * `undefined` when they can. A cursor from another history (the database
 * failed over, or was restored from a backup) may name xids this history
 * gave to other rows, and its replica may hold rows this history never had:
 * the answer is a reset. A primary that hands out xids below a cursor's
 * positions is another history too, whatever the cursor says (a cursor made
 * before histories were recorded, a promoted server before its first
 * checkpoint). On a standby a cursor may legitimately be ahead of the
 * replay, so only the history is checked there.
 */
export function distrust(cursor: CursorState, head: SnapshotHead): string | undefined {
  if (cursor.history !== undefined && cursor.history !== head.history) {
    return `made on database history ${cursor.history}, this is ${head.history}`;
  }
  if (head.standby) return undefined;
  const next = BigInt(head.nextXid);
  const positions = [cursor.floor, cursor.pass?.floor, cursor.pass?.lastXid];
  if (positions.some((xid) => xid != null && BigInt(xid) > next)) {
    return `its positions are beyond this database's next transaction id ${head.nextXid}`;
  }
  return undefined;
}

/**
 * Why a standby should not answer this cursor when its primary can, or
 * `undefined`: it shows another history than the primary (a standby that
 * follows a promoted primary shows the new timeline only after its next
 * restartpoint; an old standby left behind by a failover may hold writes
 * the new primary never had), it shows another history than the cursor's
 * (the primary decides a reset), or it has not replayed up to where the
 * cursor stands (its answer would be correct but bring nothing the replica
 * lacks, and end the pass early).
 */
export function standbyBehind(
  cursor: CursorState | undefined,
  head: SnapshotHead,
  primaryHistory: string | undefined,
): string | undefined {
  if (!head.standby) return undefined;
  if (primaryHistory !== undefined && head.history !== primaryHistory) {
    return `it shows database history ${head.history}, the primary ${primaryHistory}`;
  }
  if (cursor === undefined) return undefined;
  if (cursor.history !== undefined && cursor.history !== head.history) {
    return `it shows database history ${head.history}, the cursor ${cursor.history}`;
  }
  const next = BigInt(head.nextXid);
  const floors = [cursor.floor, cursor.pass?.floor].filter((xid) => xid != null);
  const last = cursor.pass?.lastXid;
  if (floors.some((xid) => BigInt(xid!) > next) || (last !== undefined && BigInt(last) >= next)) {
    return `it has replayed up to xid ${head.nextXid} only`;
  }
  return undefined;
}

/**
 * A download page a standby declined (see {@link standbyBehind}), thrown
 * only when the caller asked for it (`refuseWhenBehind`): the router then
 * reads the page from the primary.
 */
export class StandbyBehindError extends Error {
  constructor(why: string) {
    super(`This standby declined a download page: ${why}.`);
    this.name = 'StandbyBehindError';
  }
}
