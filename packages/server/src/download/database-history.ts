import { type Kysely, sql } from 'kysely';
import type { CursorState, ServerRun } from './cursor.ts';

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
  /** The primary's run, when read on the primary (a standby does not know it). */
  readonly run: ServerRun | undefined;
  /** The next xid of the latest checkpoint (on a standby: restartpoint) of the server read. */
  readonly checkpointXid: string;
  /** Server time, ms since the epoch. */
  readonly now: number;
}

/** `<system identifier>.<timeline>` of the database a statement runs on (see {@link readSnapshotHead}). */
const HISTORY_SQL = sql<string>`(select system_identifier from pg_control_system())::text || '.' || (
  case when pg_is_in_recovery() then (select timeline_id from pg_control_checkpoint())::int8
  else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int8 end
)::text`;

/** A server's start, µs since the epoch: with its history, which run of the primary a cursor was made in. */
const STARTED_SQL = sql<string>`(extract(epoch from pg_postmaster_start_time()) * 1000000)::int8::text`;

/** The next xid of the latest checkpoint as an xid8 (`pg_control_checkpoint()` says `<epoch>:<xid>`). */
const CHECKPOINT_XID_SQL = sql<string>`(select split_part(next_xid, ':', 1)::int8 * 4294967296
  + split_part(next_xid, ':', 2)::int8 from pg_control_checkpoint())::text`;

/** What a primary says of itself between pages: its history, and when its run started. */
export interface PrimaryIdentity {
  readonly history: string;
  readonly started: string;
}

/** The history of a database, as {@link SnapshotHead.history} says it, and when it started. */
// biome-ignore lint/suspicious/noExplicitAny: works on any database schema
export async function readIdentity(db: Kysely<any>): Promise<PrimaryIdentity> {
  const result = await sql<PrimaryIdentity>`
    select ${HISTORY_SQL} as history, ${STARTED_SQL} as started`.execute(db);
  return result.rows[0]!;
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
  const result = await sql<SnapshotHeadRow>`${SNAPSHOT_HEAD_SQL}`.execute(trx);
  return snapshotHeadOf(result.rows[0]!);
}

/** The columns {@link SNAPSHOT_HEAD_SQL} reads. */
export interface SnapshotHeadRow {
  xmin: string;
  next: string;
  history: string;
  standby: boolean;
  started: string;
  checkpoint_xid: string;
  now: number;
}

/**
 * One row: the head of the statement's snapshot (see {@link readSnapshotHead});
 * a query may join it to read its rows and their head in one statement.
 */
export const SNAPSHOT_HEAD_SQL = sql<SnapshotHeadRow>`
    select pg_snapshot_xmin(s)::text as xmin, pg_snapshot_xmax(s)::text as next,
      ${HISTORY_SQL} as history,
      pg_is_in_recovery() as standby,
      ${STARTED_SQL} as started,
      ${CHECKPOINT_XID_SQL} as checkpoint_xid,
      floor(extract(epoch from clock_timestamp()) * 1000)::float8 as now
    from pg_current_snapshot() as s`;

/** The head a {@link SNAPSHOT_HEAD_SQL} row says. */
export function snapshotHeadOf(row: SnapshotHeadRow): SnapshotHead {
  return {
    xmin: row.xmin,
    nextXid: row.next,
    history: row.history,
    standby: row.standby,
    run: row.standby ? undefined : { started: row.started, checkpointXid: row.checkpoint_xid },
    checkpointXid: row.checkpoint_xid,
    now: row.now,
  };
}

/**
 * The cursor as the current run of the primary can trust it. A cursor made
 * in an earlier run (the primary restarted since) may stand above xids the
 * restart handed out again (a crash forgets transactions that ended
 * without a flushed WAL record, though snapshots had counted them as
 * ended): its positions come down to its run's checkpoint xid, below which
 * no xid is handed out twice, so the rows from there up are sent again
 * (merging them twice changes nothing). A pass under way continues from
 * there. Without a run on either side (an older cursor, a standby that does
 * not know the primary) the cursor is taken as it is.
 *
 * @example
 * ```ts
 * acrossRestart(cursor, { started: '1733500000000000', checkpointXid: '800' });
 * ```
 */
export function acrossRestart(cursor: CursorState, run: ServerRun | undefined): CursorState {
  const made = cursor.run;
  if (made === undefined || !madeInAnotherRun(cursor, run)) return cursor;
  const bound = BigInt(made.checkpointXid);
  const lower = (xid: string) => (BigInt(xid) > bound ? made.checkpointXid : xid);
  const { pass } = cursor;
  return {
    ...cursor,
    floor: cursor.floor === null ? null : lower(cursor.floor),
    ...(pass
      ? {
          pass:
            BigInt(pass.lastXid) >= bound
              ? // Every row from the bound up again: ids sort after '' within the xid below it.
                { ...pass, floor: lower(pass.floor), lastXid: (bound - 1n).toString(), lastId: '' }
              : { ...pass, floor: lower(pass.floor) },
        }
      : {}),
  };
}

/** Whether a cursor was made in another run of the primary than `run` (both known). */
export function madeInAnotherRun(cursor: CursorState, run: ServerRun | undefined): boolean {
  return cursor.run !== undefined && run !== undefined && cursor.run.started !== run.started;
}

/** The run a page's cursor belongs to: the primary's, or on a standby the one the router knows of the primary. */
export function runOf(
  head: SnapshotHead,
  primaryStarted: string | undefined,
): ServerRun | undefined {
  if (head.run) return head.run;
  return primaryStarted === undefined
    ? undefined
    : { started: primaryStarted, checkpointXid: head.checkpointXid };
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
