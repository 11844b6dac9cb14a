import {
  fingerprint,
  isStorableText,
  type ResolvedGroup,
  type ResolvedGroupTable,
} from '@carburetor/core';
import { CarburetorServerError } from '../errors.ts';

/**
 * Where a replica stands in one table of one group. Positions are
 * transaction ids (`xid8`, as decimal text) of the transactions that wrote
 * the rows.
 */
export interface CursorState {
  /** The group's definition of the table and the caller's context value, hashed: see {@link cursorFingerprint}. */
  readonly fingerprint: string;
  /**
   * The floor of the last completed pass: every row written by a
   * transaction below it has been sent. `null` before the first pass ends.
   */
  readonly floor: string | null;
  /** Only inside a pass (more pages follow). */
  readonly pass?: PassPosition;
  /**
   * The database history the cursor's positions belong to (see
   * `database-history.ts`); absent in cursors made before it was recorded.
   */
  readonly history?: string;
  /**
   * The identity of the config whose columns the cursor's passes delivered
   * (protocol 3); absent in cursors made before configs had identities:
   * their fingerprint then names the columns (see {@link legacyCursorFingerprint}).
   */
  readonly config?: string;
  /**
   * The run of the primary the positions were made in (see
   * `database-history.ts`, {@link ServerRun}); absent in older cursors and in
   * cursors only standbys answered without knowing the primary.
   */
  readonly run?: ServerRun;
}

/**
 * One run of a primary, from one start to the next, and how far a crash
 * ending it could take transaction ids back. A snapshot counts a
 * transaction that ended without a flushed WAL record (an abort, a NOTIFY's
 * commit) as ended, so a cursor's floor can pass it; after a crash the
 * primary hands that xid out again, to rows the cursor would then never
 * send. Every xid below the next xid of a checkpoint taken in the run was
 * handed out before that durable record, so none is handed out again.
 */
export interface ServerRun {
  /** The primary's start (`pg_postmaster_start_time()`, µs since the epoch, decimal). */
  readonly started: string;
  /** The next xid of a checkpoint of that run (or of the one before it): no crash hands out xids below it again. */
  readonly checkpointXid: string;
}

/** Where a pass stands between two of its pages. */
export interface PassPosition {
  /**
   * The lowest snapshot xmin of the pass's pages so far: the next pass starts
   * there. The lowest, not the first page's: pages may be read from standbys
   * at different replay points, and a row invisible to any page of the pass
   * has an xid at or above that page's xmin.
   */
  readonly floor: string;
  /** The (xid, id) of the last row sent. */
  readonly lastXid: string;
  readonly lastId: string;
  /**
   * Only inside a first pass: whether the replica held rows when it began,
   * so every page of it leaves out (or sends) deletions alike.
   */
  readonly startedWithRows?: boolean;
  /**
   * A catch-up pass (the client's config gained columns since the cursor's):
   * it walks every row in scope for the new columns only; the cursor's floor
   * waits for it, then the usual passes go on from there.
   */
  readonly catchUp?: boolean;
}

/**
 * A cursor's JSON before base64url (not a protocol row or value), compact:
 * `{ v, f: fingerprint, l: floor, p: pass floor, x: last xid, i: last id,
 * h: started with rows, d: database history, k: config identity, u: catch-up pass,
 * r: "<run started>:<checkpoint xid>" }`.
 */
interface CursorJson {
  v: number;
  f: string;
  l: string | null;
  p?: string;
  x?: string;
  i?: string;
  h?: boolean;
  d?: string;
  k?: string;
  u?: 1;
  r?: string;
}

const VERSION = 1;
/**
 * Part of every fingerprint: bumped when what a cursor's passes delivered
 * changes meaning, so older cursors are answered as a first download (the
 * replica then sweeps what it should no longer hold). 2: rows are named out
 * of scope only when they left the filter since the cursor, from exits the
 * trigger records; a replica may hold rows that left before exits existed.
 */
const RULES = 2;
const XID = /^\d{1,20}$/;
const XID_MAX = 2n ** 64n - 1n;
const FINGERPRINT = /^[A-Za-z0-9_-]{1,128}$/;
const CONFIG = /^[0-9a-f]{16}$/;
/** `<system identifier>.<timeline>`, as `database-history.ts` reads them. */
const HISTORY = /^\d{1,20}\.\d{1,10}$/;
/** `<started>:<checkpoint xid>`, see {@link ServerRun}. */
const RUN = /^(\d{1,20}):(\d{1,20})$/;

/** A transaction id as PostgreSQL's xid8 takes it: decimal, 0 to 2^64-1. */
const isXid = (value: unknown): value is string =>
  typeof value === 'string' && XID.test(value) && BigInt(value) <= XID_MAX;

/** A row id the database could have stored (the upload's rule: 1-255 characters of storable text). */
const isRowId = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= 255 && isStorableText(value);

/** The opaque form of a cursor: base64url of its JSON. */
export function encodeCursor(state: CursorState): string {
  const json: CursorJson = { v: VERSION, f: state.fingerprint, l: state.floor };
  if (state.history !== undefined) json.d = state.history;
  if (state.config !== undefined) json.k = state.config;
  if (state.run !== undefined) json.r = `${state.run.started}:${state.run.checkpointXid}`;
  const { pass } = state;
  if (pass) {
    json.p = pass.floor;
    json.x = pass.lastXid;
    json.i = pass.lastId;
    if (pass.startedWithRows !== undefined) json.h = pass.startedWithRows;
    if (pass.catchUp) json.u = 1;
  }
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

/**
 * Reads a cursor the server made.
 *
 * @throws {CarburetorServerError} `bad_request` for anything else.
 */
export function decodeCursor(text: string, table: string): CursorState {
  const fail = (why: string): never => {
    throw new CarburetorServerError(
      'bad_request',
      `The download cursor of table "${table}" is malformed (${why}); send the cursor of the last page as it came, or null to download the table from the start.`,
      { table },
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return fail('not an encoded cursor');
  }
  if (typeof value !== 'object' || value === null) return fail('not an encoded cursor');
  const { v, f, l, p, x, i, h, d, k, u, r } = value as Record<string, unknown>;
  if (v !== VERSION) return fail(`unknown version ${JSON.stringify(v)}`);
  if (typeof f !== 'string' || !FINGERPRINT.test(f)) return fail('bad fingerprint');
  if (l !== null && !isXid(l)) return fail('bad floor');
  if (d !== undefined && (typeof d !== 'string' || !HISTORY.test(d))) return fail('bad history');
  if (k !== undefined && (typeof k !== 'string' || !CONFIG.test(k))) return fail('bad config');
  const run = r === undefined ? undefined : typeof r === 'string' ? RUN.exec(r) : null;
  if (run === null || (run && !isXid(run[2]))) return fail('bad server run');
  // Cursors made before the history (or config, or run) was recorded have none: trusted on the database they came from.
  const base: CursorState = {
    fingerprint: f,
    floor: l,
    ...(d === undefined ? {} : { history: d as string }),
    ...(k === undefined ? {} : { config: k as string }),
    ...(run === undefined ? {} : { run: { started: run[1]!, checkpointXid: run[2]! } }),
  };
  if (p === undefined && x === undefined && i === undefined) return base;
  if (!isXid(p) || !isXid(x) || !isRowId(i)) return fail('bad position');
  if (h !== undefined && typeof h !== 'boolean') return fail('bad first-pass flag');
  if (u !== undefined && u !== 1) return fail('bad catch-up flag');
  const pass: PassPosition = {
    floor: p,
    lastXid: x,
    lastId: i,
    ...(h === undefined ? {} : { startedWithRows: h }),
    ...(u === 1 ? { catchUp: true } : {}),
  };
  return { ...base, pass };
}

/**
 * The fingerprint a cursor of this table must carry: the group's definition
 * of the table (name, restriction, filter) and the context value its
 * restriction reads. A change to any of them makes the next download a
 * first download. The columns are not in it (they were before protocol 3):
 * a cursor names the config it delivered instead, so a client whose config
 * gained columns catches up on those, without a first download.
 */
export function cursorFingerprint(
  group: ResolvedGroup,
  entry: ResolvedGroupTable,
  contextValues: Readonly<Record<string, string | number>>,
): string {
  return fingerprint({ ...fingerprintParts(group, entry, contextValues), columns: 'by-config' });
}

/**
 * The fingerprint cursors carried before configs had identities: the same
 * parts as {@link cursorFingerprint} and the table's synced columns. A
 * cursor without a config identity is accepted when it matches this for the
 * columns of the config the client had then, so no replica downloads
 * everything again because the formula changed.
 */
export function legacyCursorFingerprint(
  group: ResolvedGroup,
  entry: ResolvedGroupTable,
  contextValues: Readonly<Record<string, string | number>>,
  columns: readonly string[],
): string {
  return fingerprint({ ...fingerprintParts(group, entry, contextValues), columns });
}

function fingerprintParts(
  group: ResolvedGroup,
  entry: ResolvedGroupTable,
  contextValues: Readonly<Record<string, string | number>>,
) {
  const { table, restrictTo, filter } = entry;
  return {
    v: VERSION,
    rules: RULES,
    group: group.name,
    table: table.key,
    sqlName: table.sqlName,
    id: table.id,
    restrictTo: restrictTo ?? null,
    filter: filter ?? null,
    context: restrictTo ? (contextValues[restrictTo.context] ?? null) : null,
  };
}
