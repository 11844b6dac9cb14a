import {
  type AnySyncConfig,
  contextValueWire,
  DEFAULT_PAGE_SIZE,
  type DownloadRequest,
  type DownloadResponse,
  type DownloadTablePage,
  MAX_PAGE_SIZE,
  type ResolvedGroup,
  type ResolvedGroupTable,
} from '@carburetor/core';
import type { Kysely } from 'kysely';
import { rowChunks } from '../driver/row-chunks.ts';
import { CarburetorServerError } from '../errors.ts';
import { groupOf, groupTableOf } from '../group.ts';
import { catchUpEnded, readCatchUp } from './catch-up.ts';
import { type CursorState, cursorFingerprint, decodeCursor, type ServerRun } from './cursor.ts';
import {
  acrossRestart,
  distrust,
  readSnapshotHead,
  runOf,
  type SnapshotHead,
  StandbyBehindError,
  standbyBehind,
} from './database-history.ts';
import { CHUNK_ROWS, PAGE_ROW, pageRowsSql, xidOf } from './page-row.ts';
import { countRemaining } from './remaining-count.ts';
import { deliveredColumns, knownColumns, ownConfig, type RequestConfig } from './request-config.ts';
import { TablePageBuilder, tablePageQuery } from './table-page.ts';

/** The caller's context values, e.g. `{ userId: 'u1' }`. */
export type ContextValues = Readonly<Record<string, string | number>>;

/** One table's work for a page: where it starts and what it may leave out. */
export interface TablePlan {
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

async function readTable(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
  plan: TablePlan,
  contextValues: ContextValues,
  pageSize: number,
  head: SnapshotHead,
  run: ServerRun | undefined,
): Promise<DownloadTablePage> {
  const query = tablePageQuery(plan, contextValues, pageSize);
  const { table } = plan.entry;
  // A first download's progress (protocol 3): counted on its first page, and when the client asks.
  const remaining =
    plan.progress && query.firstPass && (plan.cursor?.pass === undefined || plan.estimate)
      ? await countRemaining(trx, table.sqlName, query.page.where)
      : undefined;
  const builder = new TablePageBuilder(plan, query, pageSize);
  pages: for await (const chunk of rowChunks(trx, pageRowsSql(query.page), CHUNK_ROWS)) {
    for (const row of chunk) if (!builder.take(row)) break pages;
  }
  const lastXid =
    builder.more && builder.last ? await xidOf(trx, table, builder.last[PAGE_ROW.id]) : undefined;
  return builder.page(head, run, lastXid, remaining);
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
