import {
  type AnySyncConfig,
  type ConfigDefinition,
  configDefinition,
  configIdentity,
  contextValueWire,
  DEFAULT_PAGE_SIZE,
  type DownloadRequest,
  type DownloadResponse,
  type DownloadRow,
  type DownloadTablePage,
  MAX_PAGE_SIZE,
  MAX_REMAINING_COUNT,
  type RemainingEstimate,
  type ResolvedGroup,
  type ResolvedGroupTable,
} from '@carburetor/core';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { rowChunks } from '../driver/row-chunks.ts';
import { CarburetorServerError } from '../errors.ts';
import { groupOf, groupTableOf } from '../group.ts';
import { EXITS_COLUMN, XID_COLUMN } from '../schema/names.ts';
import { filterKey } from '../schema/scope-exits.ts';
import {
  type CursorState,
  cursorFingerprint,
  decodeCursor,
  encodeCursor,
  legacyCursorFingerprint,
  type ServerRun,
} from './cursor.ts';
import {
  acrossRestart,
  distrust,
  readSnapshotHead,
  runOf,
  type SnapshotHead,
  StandbyBehindError,
  standbyBehind,
} from './database-history.ts';
import { filterSql } from './filter-sql.ts';
import { PAGE_ROW, PAGE_ROW_KIND, type PageRow, pageRowsSql } from './page-row.ts';
import { RowCompactor } from './row-compactor.ts';

/** The caller's context values, e.g. `{ userId: 'u1' }`. */
export type ContextValues = Readonly<Record<string, string | number>>;

/** One table's work for a page: where it starts and what it may leave out. */
interface TablePlan {
  readonly key: string;
  readonly entry: ResolvedGroupTable;
  readonly fingerprint: string;
  /** The cursor sent, when it is accepted. */
  readonly cursor: CursorState | undefined;
  readonly reset: boolean;
  /** The cursor came from another database history (a failover): the pass's rows replace the replica's. */
  readonly authoritative: boolean;
  readonly hasRows: boolean;
  /** The synced columns the client's config knows, in page order. */
  readonly columns: readonly string[];
  /** The identity of the client's config: the next cursor names it. */
  readonly config: string;
  /**
   * Columns the client's config knows and its cursor's config did not (it
   * was updated): a catch-up pass sends them before the cursor goes on.
   */
  readonly catchUp: readonly string[];
  /** Protocol 3: a first download's page carries the count of entries left (see `countRemaining`). */
  readonly progress: boolean;
  /** The client asked for a count on this page (it lost or passed its estimate). */
  readonly estimate: boolean;
}

/** A table of the request, its cursor read but not yet checked against the database's history. */
type TableRequestPlan = Omit<TablePlan, 'cursor' | 'reset' | 'authoritative'> & {
  readonly sent: CursorState | undefined;
  /** The sent cursor belongs to this table as the client's config defines it. */
  readonly sameDefinition: boolean;
};

/**
 * The config a request came from (protocol 3): the router finds it from the
 * request's `config` identity, among the versions `migrateServer` recorded.
 */
export interface RequestConfig {
  readonly identity: string;
  readonly definition: ConfigDefinition;
  /**
   * The definition of another recorded config (a cursor's), or of the one
   * before versioning (`undefined`); undefined when not recorded.
   */
  definitionOf(identity: string | undefined): Promise<ConfigDefinition | undefined>;
}

const ownConfigs = new WeakMap<AnySyncConfig, RequestConfig>();

/** The server's own config as a request's: what a caller that names none gets. */
function ownConfig(config: AnySyncConfig): RequestConfig {
  let own = ownConfigs.get(config);
  if (!own) {
    const identity = configIdentity(config);
    const definition = configDefinition(config);
    own = {
      identity,
      definition,
      definitionOf: async (id) => (id === identity ? definition : undefined),
    };
    ownConfigs.set(config, own);
  }
  return own;
}

/** The table's synced columns a config knows, in the table's order (the deleted flag always). */
function knownColumns(
  table: ResolvedGroupTable['table'],
  definition: ConfigDefinition,
): readonly string[] {
  const known = definition.tables[table.key]?.columns ?? {};
  return table.syncedColumns.filter((c) => c === table.isDeleted || c in known);
}

/**
 * Which columns a sent cursor delivered, when it belongs to this table and
 * caller at all: those of the config it names, or, for a cursor made before
 * configs had identities, those its fingerprint was made with (the client's
 * current config's, or the one from before versioning). Undefined: a first
 * download.
 */
async function deliveredColumns(
  sent: CursorState,
  group: ResolvedGroup,
  entry: ResolvedGroupTable,
  contextValues: ContextValues,
  client: RequestConfig,
  requested: readonly string[],
): Promise<readonly string[] | undefined> {
  if (sent.config !== undefined) {
    if (sent.fingerprint !== cursorFingerprint(group, entry, contextValues)) return undefined;
    const definition =
      sent.config === client.identity ? client.definition : await client.definitionOf(sent.config);
    return definition ? knownColumns(entry.table, definition) : undefined;
  }
  if (sent.fingerprint === legacyCursorFingerprint(group, entry, contextValues, requested)) {
    return requested;
  }
  const before = await client.definitionOf(undefined);
  if (!before) return undefined;
  const columns = knownColumns(entry.table, before);
  return sent.fingerprint === legacyCursorFingerprint(group, entry, contextValues, columns)
    ? columns
    : undefined;
}

// What a page row is, as the query's `kind` expression says it.
const { row: ROW, tombstone: TOMBSTONE, outOfScope: OUT_OF_SCOPE } = PAGE_ROW_KIND;

/**
 * Rows compacted at a time while a page streams in: each chunk's driver rows
 * are garbage before the next arrives.
 */
const CHUNK_ROWS = 1_000;

/**
 * Answers one download page of a group: per requested table, the rows
 * changed since its cursor that the caller may see, at most `pageSize` of
 * them, with the next cursor. All tables are read from one snapshot (one
 * REPEATABLE READ, READ ONLY transaction).
 *
 * The cursor never misses a committed row (docs/sync-semantics.md §4): rows carry the id of
 * the transaction that wrote them; a pass over a table walks (xid, id)
 * upwards and ends with the lowest snapshot xmin of its pages as the next
 * pass's lower bound, so a transaction still running during the pass (or
 * not yet replayed by the standby a page was read from) is read by the next
 * one. Nothing here writes, so `db` may be a hot standby; a cursor from
 * another database history is answered with a reset (see `distrust`).
 *
 * @throws {CarburetorServerError} `unauthorized` when a context value the
 * group needs is missing; `bad_request` for an unknown group or table, or a
 * malformed cursor.
 * @example
 * ```ts
 * const page = await downloadChanges(db, config, 'private_contacts', {
 *   protocol: 1, clientId: 'device-1', tables: { phone_book: { cursor: null, hasRows: false } },
 * }, { userId: 'u1' });
 * ```
 */
export async function downloadChanges(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  db: Kysely<any>,
  config: AnySyncConfig,
  groupName: string,
  request: DownloadRequest,
  contextValues: ContextValues,
  options: DownloadOptions = {},
): Promise<DownloadResponse> {
  const group = groupOf(config, groupName);
  checkContext(group, contextValues);
  const pageSize = Math.min(
    Math.max(1, Math.floor(request.pageSize ?? DEFAULT_PAGE_SIZE)),
    MAX_PAGE_SIZE,
  );
  const client = options.client ?? ownConfig(config);
  const requested: TableRequestPlan[] = [];
  for (const [key, tableRequest] of Object.entries(request.tables)) {
    if (tableRequest === undefined) continue;
    const entry = groupTableOf(group, key);
    const fingerprint = cursorFingerprint(group, entry, contextValues);
    const sent = tableRequest.cursor === null ? undefined : decodeCursor(tableRequest.cursor, key);
    const columns = knownColumns(entry.table, client.definition);
    const delivered = sent
      ? await deliveredColumns(sent, group, entry, contextValues, client, columns)
      : undefined;
    requested.push({
      key,
      entry,
      fingerprint,
      sent,
      sameDefinition: delivered !== undefined,
      hasRows: tableRequest.hasRows,
      columns,
      config: client.identity,
      catchUp: delivered ? columns.filter((c) => !delivered.includes(c)) : [],
      progress: request.protocol >= 3,
      estimate: tableRequest.estimate === true,
    });
  }

  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      // The first statement takes the snapshot every table below is read from.
      const head = await readSnapshotHead(trx);
      const run = runOf(head, options.primaryStarted);
      // A cursor made before the primary last restarted comes down to where that run can be trusted.
      const cursorOf = (sent: CursorState | undefined, sameDefinition: boolean) =>
        sameDefinition && sent !== undefined ? acrossRestart(sent, run) : undefined;
      if (options.refuseWhenBehind) {
        for (const { sent, sameDefinition } of requested) {
          const why = standbyBehind(cursorOf(sent, sameDefinition), head, options.primaryHistory);
          if (why !== undefined) throw new StandbyBehindError(why);
        }
      }
      const tables: Record<string, DownloadTablePage> = {};
      let hasMore = false;
      for (const { sent, sameDefinition, ...rest } of requested) {
        // Another group definition or caller, or another database history: a first download.
        const cursor = cursorOf(sent, sameDefinition);
        const distrusted = cursor !== undefined && distrust(cursor, head) !== undefined;
        const accepted = distrusted ? undefined : cursor;
        const plan = {
          ...rest,
          cursor: catchUpEnded(accepted, rest.catchUp),
          reset: sent !== undefined && !accepted,
          authoritative: distrusted,
        };
        const made = run ?? accepted?.run;
        const page =
          plan.cursor && plan.catchUp.length > 0
            ? await readCatchUp(trx, plan, plan.cursor, contextValues, pageSize, head, made)
            : await readTable(trx, plan, contextValues, pageSize, head, made);
        tables[plan.key] = page;
        hasMore ||= page.hasMore;
      }
      return {
        // Answered in the request's version: only protocol 3 pages carry `remaining`.
        protocol: request.protocol,
        serverTime: head.now,
        tables,
        hasMore,
      };
    });
}

/** Options of {@link downloadChanges}. */
export interface DownloadOptions {
  /**
   * When `db` is a standby that has not replayed up to a cursor's position,
   * or shows another database history than the cursor, throw
   * {@link StandbyBehindError} rather than answer, so that the caller reads
   * the page from the primary (the router does, for `readDb`). Default false:
   * such a standby answers, correctly, with what it has.
   */
  readonly refuseWhenBehind?: boolean;
  /**
   * With `refuseWhenBehind`: the history the primary shows (`readHistory`).
   * A standby that shows another refuses every page, first downloads too.
   */
  readonly primaryHistory?: string | undefined;
  /**
   * The config the request came from, when not the server's own (an older
   * client's): pages carry only the columns it knows, and a cursor from an
   * older config of the client's catches up on the columns it gained.
   */
  readonly client?: RequestConfig | undefined;
  /**
   * When `db` is a standby: when the primary's current run started
   * (`readIdentity`), so that a cursor made before the primary restarted is
   * lowered here too (see `acrossRestart`).
   */
  readonly primaryStarted?: string | undefined;
}

/** The lower of two xids. */
const minXid = (a: string, b: string): string => (BigInt(a) <= BigInt(b) ? a : b);
/** The higher of two xids. */
const maxXid = (a: string, b: string): string => (BigInt(a) >= BigInt(b) ? a : b);

async function readTable(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
  plan: TablePlan,
  contextValues: ContextValues,
  pageSize: number,
  head: SnapshotHead,
  run: ServerRun | undefined,
): Promise<DownloadTablePage> {
  const { entry, cursor } = plan;
  const { table } = entry;
  const xid = sql.ref(XID_COLUMN);
  const id = sql.ref(table.id);
  const deleted = sql.ref(table.isDeleted);
  const filter = filterSql(entry);
  // The first pass leaves out what the replica cannot hold, unless it already holds rows.
  // What changes during the pass has a newer xid, so the next pass reports it.
  // A first pass decides on its first page whether the replica holds rows,
  // and keeps to it: later pages would otherwise see the rows page 1 brought.
  const firstPass = cursor === undefined || cursor.floor === null;
  const startedWithRows = cursor?.pass?.startedWithRows ?? plan.hasRows;
  // Into an empty replica only live rows in scope can matter: no tombstones, no out-of-scope ids.
  const onlyLiveRowsInScope = firstPass && !startedWithRows;

  const where: RawBuilder<unknown>[] = [];
  if (entry.restrictTo) {
    const column = table.column[entry.restrictTo.column]!;
    const value = contextValues[entry.restrictTo.context]!;
    where.push(sql`${sql.ref(column.name)} = cast(${String(value)} as ${sql.raw(column.type.pg)})`);
  }
  const floor = cursor?.floor ?? null;
  if (floor !== null) where.push(sql`${xid} >= cast(${floor} as xid8)`);
  if (cursor?.pass) {
    const { lastXid, lastId } = cursor.pass;
    where.push(sql`(${xid}, ${id}) > (cast(${lastXid} as xid8), ${lastId})`);
  }
  if (onlyLiveRowsInScope) {
    where.push(sql`not ${deleted}`);
    if (filter) where.push(filter);
  } else if (filter && entry.filter) {
    // A row that fails the filter is named (out of scope) only to a caller
    // who could have seen it: it left the filter since the cursor, or, in a
    // first pass into a replica that holds rows, at some time. A row that
    // never passed the filter (another user's private row) is never named.
    const exit = sql`${sql.ref(EXITS_COLUMN)} -> ${filterKey(entry.filter)}`;
    where.push(
      floor !== null
        ? sql`(${filter} or (${exit} #>> '{}')::xid8 >= cast(${floor} as xid8))`
        : sql`(${filter} or ${exit} is not null)`,
    );
  }
  // Later passes send a deleted row whole: its other columns still merge (§3),
  // and replicas must converge on them too. A first pass into a replica that
  // holds rows sends id-only tombstones. The filter comes first: a row that
  // left it is out of scope, deleted or not.
  const sentWithValues = floor !== null ? sql.lit(true) : sql`not ${deleted}`;
  const kind = onlyLiveRowsInScope
    ? sql.lit(ROW)
    : sql`case ${filter ? sql`when not ${filter} then ${sql.lit(OUT_OF_SCOPE)}` : sql``} when ${sentWithValues} then ${sql.lit(ROW)} else ${sql.lit(TOMBSTONE)} end`;

  // A first download's progress (protocol 3): counted on its first page, and when the client asks.
  const remaining =
    plan.progress && firstPass && (cursor?.pass === undefined || plan.estimate)
      ? await countRemaining(trx, table.sqlName, where)
      : undefined;

  const { columns } = plan;
  const compact = compactorOf(table, columns);
  const rows: DownloadRow[] = [];
  const tombstones: string[] = [];
  const outOfScope: string[] = [];
  // One row past the page tells whether more follow.
  const query = pageRowsSql({ entry, where, kind, limit: pageSize + 1, columns });
  let taken = 0;
  let last: PageRow | undefined;
  let more = false;
  for await (const chunk of rowChunks(trx, query, CHUNK_ROWS)) {
    for (const row of chunk) {
      if (taken === pageSize) {
        more = true;
        break;
      }
      taken++;
      last = row;
      const kind = row[PAGE_ROW.kind];
      if (kind === ROW) rows.push(compact.row(row));
      else if (kind === TOMBSTONE) tombstones.push(row[PAGE_ROW.id]);
      else outOfScope.push(row[PAGE_ROW.id]);
    }
  }
  // A pass's floor is the lowest xmin of its pages: pages may come from standbys at different
  // replay points, and a row one of them could not see has an xid at or above its xmin.
  const passFloor = cursor?.pass ? minXid(cursor.pass.floor, head.xmin) : head.xmin;
  // Every row below the previous floor was sent already: a page from a standby that replayed
  // less than the previous pass saw does not move the cursor back.
  const nextFloor = floor === null ? passFloor : maxXid(floor, passFloor);
  const { history } = head;
  const made = run === undefined ? { history } : { history, run };
  const next: CursorState =
    more && last
      ? {
          fingerprint: plan.fingerprint,
          floor,
          ...made,
          config: plan.config,
          pass: {
            floor: passFloor,
            lastXid: await xidOf(trx, table, last[PAGE_ROW.id]),
            lastId: last[PAGE_ROW.id],
            ...(firstPass ? { startedWithRows } : {}),
          },
        }
      : { fingerprint: plan.fingerprint, floor: nextFloor, ...made, config: plan.config };
  return {
    columns: [...columns],
    clients: compact.clients,
    rows,
    tombstones,
    outOfScope,
    cursor: encodeCursor(next),
    hasMore: more,
    reset: plan.reset,
    ...(plan.authoritative ? { authoritative: true } : {}),
    ...(remaining ? { remaining } : {}),
  };
}

/**
 * The cursor without its catch-up position when there is nothing to catch
 * up on any more (the client went back to the cursor's config meanwhile):
 * the usual pass restarts from the cursor's floor.
 */
function catchUpEnded(
  cursor: CursorState | undefined,
  catchUp: readonly string[],
): CursorState | undefined {
  if (!cursor?.pass?.catchUp || catchUp.length > 0) return cursor;
  const { pass: _, ...rest } = cursor;
  return rest;
}

/** A compactor of rows carrying these columns. */
function compactorOf(table: ResolvedGroupTable['table'], columns: readonly string[]) {
  const doubles = columns.flatMap((name, n) => (table.column[name]!.kind === 'double' ? [n] : []));
  return new RowCompactor(columns.length, doubles);
}

/**
 * One page of a catch-up pass: the client's config gained `plan.catchUp`
 * columns since its cursor was made, and its replica holds rows without
 * their values. The pass walks every row in scope (deleted ones too: their
 * columns still merge), sending only those columns; the cursor's floor
 * waits meanwhile, and once the pass ends the usual passes go on from it, so
 * a row written during the catch-up is sent again, whole. The replica
 * applies a catch-up row only where it holds the row.
 */
async function readCatchUp(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
  plan: TablePlan,
  cursor: CursorState,
  contextValues: ContextValues,
  pageSize: number,
  head: SnapshotHead,
  run: ServerRun | undefined,
): Promise<DownloadTablePage> {
  const { entry } = plan;
  const { table } = entry;
  const columns = plan.catchUp;
  const where: RawBuilder<unknown>[] = [];
  if (entry.restrictTo) {
    const column = table.column[entry.restrictTo.column]!;
    const value = contextValues[entry.restrictTo.context]!;
    where.push(sql`${sql.ref(column.name)} = cast(${String(value)} as ${sql.raw(column.type.pg)})`);
  }
  const filter = filterSql(entry);
  if (filter) where.push(filter);
  const at = cursor.pass?.catchUp ? cursor.pass : undefined;
  if (at) {
    where.push(
      sql`(${sql.ref(XID_COLUMN)}, ${sql.ref(table.id)}) > (cast(${at.lastXid} as xid8), ${at.lastId})`,
    );
  }
  const compact = compactorOf(table, columns);
  const rows: DownloadRow[] = [];
  const query = pageRowsSql({ entry, where, kind: sql.lit(ROW), limit: pageSize + 1, columns });
  let last: PageRow | undefined;
  let more = false;
  for await (const chunk of rowChunks(trx, query, CHUNK_ROWS)) {
    for (const row of chunk) {
      if (rows.length === pageSize) {
        more = true;
        break;
      }
      last = row;
      rows.push(compact.row(row));
    }
  }
  const { pass: _, ...resume } = cursor;
  const next: CursorState =
    more && last
      ? {
          // The cursor as it was (its config still names the columns it lacks), and where the catch-up stands.
          ...resume,
          pass: {
            floor: head.xmin,
            lastXid: await xidOf(trx, table, last[PAGE_ROW.id]),
            lastId: last[PAGE_ROW.id],
            catchUp: true,
          },
        }
      : {
          fingerprint: plan.fingerprint,
          floor: cursor.floor,
          history: head.history,
          ...(run === undefined ? {} : { run }),
          config: plan.config,
        };
  return {
    columns: [...columns],
    clients: compact.clients,
    rows,
    tombstones: [],
    outOfScope: [],
    cursor: encodeCursor(next),
    // The usual pass follows the catch-up at once.
    hasMore: true,
    reset: false,
    catchUp: true,
  };
}

/**
 * The entries a page's query has left to send from its start (this page's
 * included), in the caller's scope: the same conditions as the page, so
 * another user's rows never count (a table-wide figure such as `reltuples`
 * would tell one user how many rows others have). Counting stops at
 * MAX_REMAINING_COUNT rows, so it reads at most that many entries of the
 * scope's (restriction, xid, id) index.
 */
async function countRemaining(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
  sqlName: string,
  where: readonly RawBuilder<unknown>[],
): Promise<RemainingEstimate> {
  const result = await sql<{ n: string }>`
    select count(*)::text as n from (
      select 1 from ${sql.table(sqlName)}
      ${where.length > 0 ? sql`where ${sql.join(where, sql` and `)}` : sql``}
      limit ${sql.lit(MAX_REMAINING_COUNT)}
    ) as scope`.execute(trx);
  const rows = Number(result.rows[0]!.n);
  return { rows, atLeast: rows >= MAX_REMAINING_COUNT };
}

/** The cursor position of a row the page read: only the last row's is needed, so rows do not carry it. */
async function xidOf(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
  table: ResolvedGroupTable['table'],
  id: string,
): Promise<string> {
  const result = await sql<{ x: string }>`
    select ${sql.ref(XID_COLUMN)}::text as x from ${sql.table(table.sqlName)}
    where ${sql.ref(table.id)} = ${id}`.execute(trx);
  return result.rows[0]!.x;
}

/**
 * Longest context value, in UTF-8 bytes: it is compared with an indexed
 * column, and PostgreSQL's btree entries stop at about 2.7 KB.
 */
const MAX_CONTEXT_VALUE_BYTES = 1_024;

/**
 * Every context value a restricted group reads must be there, and be a value
 * of the restriction column's type (checked here, before any SQL: a value
 * PostgreSQL cannot cast would otherwise fail deep inside a query).
 *
 * @throws {CarburetorServerError} `unauthorized` naming the missing values;
 * `bad_request` naming a value that is not of its column's type.
 */
export function checkContext(group: ResolvedGroup, contextValues: ContextValues): void {
  const missing = group.contextKeys.filter((key) => {
    const value = contextValues[key];
    return !(typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)));
  });
  if (missing.length > 0) {
    throw new CarburetorServerError(
      'unauthorized',
      `Sync group "${group.name}" is restricted by ${missing.map((k) => `"${k}"`).join(', ')}, which the request's context does not give; sign in, or map the context to { ${missing.join(', ')} } in createSyncRouter's context option.`,
    );
  }
  for (const { table, restrictTo } of group.tables) {
    if (!restrictTo) continue;
    const column = table.column[restrictTo.column]!;
    const value = contextValues[restrictTo.context]!;
    const wire = contextValueWire(column, value);
    const bytes = typeof wire === 'string' ? Buffer.byteLength(wire) : 0;
    const problem =
      bytes > MAX_CONTEXT_VALUE_BYTES
        ? `${bytes} bytes, over the limit of ${MAX_CONTEXT_VALUE_BYTES}`
        : column.type.checkWire(wire);
    if (problem !== undefined) {
      throw new CarburetorServerError(
        'bad_request',
        `The context value "${restrictTo.context}" of sync group "${group.name}" is not a valid ${column.type.pg} for ${table.sqlName}.${column.name} (${problem}); check what createSyncRouter's context option returns.`,
        { table: table.sqlName, column: column.name },
      );
    }
  }
}
