import {
  type DownloadResponse,
  type DownloadTablePage,
  PROTOCOL_VERSION,
  pushContinues,
  type ResolvedGroup,
} from '@carburetor/core';
import type { Replica } from '../replica/replica.ts';
import { applyPage, pageEntries, readCursors } from './download.ts';
import type { SyncObserver } from './sync-observer.ts';
import type { Push } from './transport.ts';

/**
 * Applies what a server pushed for `group`: each table's page where it
 * continues the stored cursor (same fingerprint, no pass in progress, no
 * gap), in one transaction with the cursors it moves to; a page the replica
 * is already past is skipped. Returns the tables to download instead: named
 * without a page, or whose page does not continue the cursor (a push was
 * missed, or a download is half done).
 *
 * Run it where downloads run (the sync lifecycle), so a cursor cannot move
 * between the check and the write.
 */
export async function applyPush(
  replica: Replica,
  group: ResolvedGroup,
  clientGroups: readonly ResolvedGroup[],
  tables: readonly string[],
  push: Push,
  observer?: SyncObserver,
): Promise<string[]> {
  const cursors = await readCursors(replica, group.name);
  const pages: Record<string, DownloadTablePage> = {};
  const download: string[] = [];
  for (const table of tables) {
    if (!group.table[table]) continue;
    const pushed = push.pages[table];
    if (!pushed) {
      download.push(table);
      continue;
    }
    const verdict = pushContinues(cursors.get(table) ?? null, pushed.from, pushed.cursor);
    if (verdict === 'gap') download.push(table);
    if (verdict !== 'apply') continue;
    const { from: _, ...page } = pushed;
    pages[table] = page;
  }
  if (Object.keys(pages).length === 0) return download;
  const response: DownloadResponse = {
    protocol: PROTOCOL_VERSION,
    serverTime: push.serverTime ?? replica.now(),
    tables: pages,
    hasMore: false,
  };
  const changed = await applyPage(replica, group, clientGroups, response, false);
  let delivered = 0;
  for (const page of Object.values(pages)) delivered += pageEntries(page);
  observer?.pageApplied(new Set(changed.keys()), delivered, changed);
  return download;
}
