import type { AnySyncConfig, DownloadTablePage, ResolvedGroup } from '@carburetor/core';
import { type Kysely, sql } from 'kysely';
import { prepareStatement } from '../driver/prepared-statements.ts';
import { groupTableOf } from '../group.ts';
import { type CursorState, cursorFingerprint } from './cursor.ts';
import {
  distrust,
  madeInAnotherRun,
  SNAPSHOT_HEAD_SQL,
  type SnapshotHead,
  type SnapshotHeadRow,
  snapshotHeadOf,
} from './database-history.ts';
import type { ContextValues, TablePlan } from './download.ts';
import { PAGE_ROW, type PageRow, pageRowsSql } from './page-row.ts';
import { knownColumns, ownConfig } from './request-config.ts';
import { TablePageBuilder, tablePageQuery } from './table-page.ts';

/** One table's page and the head of the snapshot it was read in. */
export interface PageWithHead {
  readonly head: SnapshotHead;
  /** Undefined when the head says the plan's cursor cannot be taken as it is (see {@link readPageWithHead}). */
  readonly page: DownloadTablePage | undefined;
}

/**
 * One table's next page from `cursor` and the head of its snapshot, in ONE
 * statement on `db` (no transaction: one round trip, where a download page
 * takes four), as a download of the server's own config into a replica
 * that holds rows. For a cursor the head need not adjust before its rows
 * are read: the page is left out when the head shows the cursor was made in
 * another run or history of the primary, or names positions the database
 * has not reached (`distrust`); the caller then starts over from the head.
 * Counts no remaining rows and reads no catch-up pass: for pushes, whose
 * cursors are past their table's first pass.
 *
 * @example
 * ```ts
 * const { head, page } = await readPageWithHead(db, config, group, 'note', { userId: 'u1' }, cursor, 1_000);
 * ```
 */
export async function readPageWithHead(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  db: Kysely<any>,
  config: AnySyncConfig,
  group: ResolvedGroup,
  tableKey: string,
  contextValues: ContextValues,
  cursor: Omit<CursorState, 'fingerprint' | 'config'>,
  pageSize: number,
): Promise<PageWithHead> {
  const plan = ownPlan(config, group, tableKey, contextValues, cursor);
  const query = tablePageQuery(plan, contextValues, pageSize);
  const xid = sql.ref(`page_rows.${PAGE_ROW.xid}`);
  const id = sql.ref(`page_rows.${PAGE_ROW.id}`);
  // With no row, the head still comes: one row whose page columns are null.
  const compiled = sql<SnapshotHeadRow & PageRow>`
    select snapshot_head.*, page_rows.* from (${SNAPSHOT_HEAD_SQL}) as snapshot_head
    left join (${pageRowsSql({ ...query.page, withXid: true })}) as page_rows on true
    order by ${xid}, ${id}`.compile(db);
  // On the path from a write to every subscriber: parsed and planned once per connection.
  prepareStatement(compiled.sql);
  const result = await db.executeQuery(compiled);
  const head = snapshotHeadOf(result.rows[0]!);
  const sent = plan.cursor!;
  if (madeInAnotherRun(sent, head.run) || distrust(sent, head) !== undefined) {
    return { head, page: undefined };
  }
  const builder = new TablePageBuilder(plan, query, pageSize);
  for (const row of result.rows) {
    if (row[PAGE_ROW.id] === null || !builder.take(row)) break;
  }
  const lastXid = builder.more ? (builder.last?.[PAGE_ROW.xid] as string) : undefined;
  return { head, page: builder.page(head, head.run, lastXid, undefined) };
}

/** A table's page of the server's own config from `cursor`, into a replica that holds rows. */
function ownPlan(
  config: AnySyncConfig,
  group: ResolvedGroup,
  tableKey: string,
  contextValues: ContextValues,
  cursor: Omit<CursorState, 'fingerprint' | 'config'>,
): TablePlan {
  const entry = groupTableOf(group, tableKey);
  const fingerprint = cursorFingerprint(group, entry, contextValues);
  const own = ownConfig(config);
  return {
    key: tableKey,
    entry,
    fingerprint,
    cursor: { ...cursor, fingerprint, config: own.identity },
    reset: false,
    authoritative: false,
    hasRows: true,
    columns: knownColumns(entry.table, own.definition),
    config: own.identity,
    catchUp: [],
    progress: false,
    estimate: false,
  };
}
