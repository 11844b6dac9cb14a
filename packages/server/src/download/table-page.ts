import type { DownloadRow, DownloadTablePage, RemainingEstimate } from '@carburetor/core';
import { type RawBuilder, sql } from 'kysely';
import { EXITS_COLUMN, XID_COLUMN } from '../schema/names.ts';
import { filterKey } from '../schema/scope-exits.ts';
import { type CursorState, encodeCursor, type ServerRun } from './cursor.ts';
import type { SnapshotHead } from './database-history.ts';
import type { ContextValues, TablePlan } from './download.ts';
import { filterSql } from './filter-sql.ts';
import { PAGE_ROW, PAGE_ROW_KIND, type PageQuery, type PageRow } from './page-row.ts';
import { compactorOf, type RowCompactor } from './row-compactor.ts';

// What a page row is, as the query's `kind` expression says it.
const { row: ROW, tombstone: TOMBSTONE, outOfScope: OUT_OF_SCOPE } = PAGE_ROW_KIND;

/** What a table's page reads, decided from its plan before any statement runs. */
export interface TablePageQuery {
  /** The rows to read: one past the page size, which tells whether more follow. */
  readonly page: PageQuery;
  /** The pass is the table's first (the cursor has no floor yet). */
  readonly firstPass: boolean;
  /** A first pass's choice, kept by every page of it: the replica held rows when it began. */
  readonly startedWithRows: boolean;
}

/**
 * The conditions and row kinds of one table's next page (docs/sync-semantics.md §4, §5):
 * the caller's restriction, the cursor's floor and pass position, and what
 * the filter lets through or names out of scope.
 */
export function tablePageQuery(
  plan: TablePlan,
  contextValues: ContextValues,
  pageSize: number,
): TablePageQuery {
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
  return {
    page: { entry, where, kind, limit: pageSize + 1, columns: plan.columns },
    firstPass,
    startedWithRows,
  };
}

/** The lower of two xids. */
const minXid = (a: string, b: string): string => (BigInt(a) <= BigInt(b) ? a : b);
/** The higher of two xids. */
const maxXid = (a: string, b: string): string => (BigInt(a) >= BigInt(b) ? a : b);

/**
 * Builds one table's page from its rows as they arrive in page order:
 * rows, tombstones and out-of-scope ids, and the cursor the page ends at.
 */
export class TablePageBuilder {
  readonly #plan: TablePlan;
  readonly #query: TablePageQuery;
  readonly #pageSize: number;
  readonly #compact: RowCompactor;
  readonly #rows: DownloadRow[] = [];
  readonly #tombstones: string[] = [];
  readonly #outOfScope: string[] = [];
  #taken = 0;
  /** The page's last row. */
  last: PageRow | undefined;
  /** A row past the page came: more follow. */
  more = false;

  constructor(plan: TablePlan, query: TablePageQuery, pageSize: number) {
    this.#plan = plan;
    this.#query = query;
    this.#pageSize = pageSize;
    this.#compact = compactorOf(plan.entry.table, plan.columns);
  }

  /** Takes the next row; false once the page is full (the row is the one past it, and is dropped). */
  take(row: PageRow): boolean {
    if (this.#taken === this.#pageSize) {
      this.more = true;
      return false;
    }
    this.#taken++;
    this.last = row;
    const kind = row[PAGE_ROW.kind];
    if (kind === ROW) this.#rows.push(this.#compact.row(row));
    else if (kind === TOMBSTONE) this.#tombstones.push(row[PAGE_ROW.id]);
    else this.#outOfScope.push(row[PAGE_ROW.id]);
    return true;
  }

  /**
   * The page, read in the snapshot of `head`. `lastXid` (the last row's
   * xid) is needed when more follow: the next page starts after it.
   */
  page(
    head: SnapshotHead,
    run: ServerRun | undefined,
    lastXid: string | undefined,
    remaining: RemainingEstimate | undefined,
  ): DownloadTablePage {
    const plan = this.#plan;
    const { cursor } = plan;
    const floor = cursor?.floor ?? null;
    // A pass's floor is the lowest xmin of its pages: pages may come from standbys at different
    // replay points, and a row one of them could not see has an xid at or above its xmin.
    const passFloor = cursor?.pass ? minXid(cursor.pass.floor, head.xmin) : head.xmin;
    // Every row below the previous floor was sent already: a page from a standby that replayed
    // less than the previous pass saw does not move the cursor back.
    const nextFloor = floor === null ? passFloor : maxXid(floor, passFloor);
    const { history } = head;
    const made = run === undefined ? { history } : { history, run };
    const last = this.last;
    if (this.more && (last === undefined || lastXid === undefined)) {
      throw new Error('A page with more to follow needs its last row and its xid.');
    }
    const next: CursorState =
      this.more && last && lastXid !== undefined
        ? {
            fingerprint: plan.fingerprint,
            floor,
            ...made,
            config: plan.config,
            pass: {
              floor: passFloor,
              lastXid,
              lastId: last[PAGE_ROW.id],
              ...(this.#query.firstPass ? { startedWithRows: this.#query.startedWithRows } : {}),
            },
          }
        : { fingerprint: plan.fingerprint, floor: nextFloor, ...made, config: plan.config };
    return {
      columns: [...plan.columns],
      clients: this.#compact.clients,
      rows: this.#rows,
      tombstones: this.#tombstones,
      outOfScope: this.#outOfScope,
      cursor: encodeCursor(next),
      hasMore: this.more,
      reset: plan.reset,
      ...(plan.authoritative ? { authoritative: true } : {}),
      ...(remaining ? { remaining } : {}),
    };
  }
}
