import type { DownloadRow, DownloadTablePage } from '@carburetor/core';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { rowChunks } from '../driver/row-chunks.ts';
import { XID_COLUMN } from '../schema/names.ts';
import { type CursorState, encodeCursor, type ServerRun } from './cursor.ts';
import type { SnapshotHead } from './database-history.ts';
import type { ContextValues, TablePlan } from './download.ts';
import { filterSql } from './filter-sql.ts';
import {
  CHUNK_ROWS,
  PAGE_ROW,
  PAGE_ROW_KIND,
  type PageRow,
  pageRowsSql,
  xidOf,
} from './page-row.ts';
import { compactorOf } from './row-compactor.ts';

const { row: ROW } = PAGE_ROW_KIND;

/**
 * The cursor without its catch-up position when there is nothing to catch
 * up on any more (the client went back to the cursor's config meanwhile):
 * the usual pass restarts from the cursor's floor.
 */
export function catchUpEnded(
  cursor: CursorState | undefined,
  catchUp: readonly string[],
): CursorState | undefined {
  if (!cursor?.pass?.catchUp || catchUp.length > 0) return cursor;
  const { pass: _, ...rest } = cursor;
  return rest;
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
export async function readCatchUp(
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
