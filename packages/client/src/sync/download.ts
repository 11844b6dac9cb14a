import {
  applyTombstone,
  type DownloadRequest,
  type DownloadResponse,
  type DownloadTablePage,
  dirtyColumns,
  mergeIncomingRow,
  PROTOCOL_VERSION,
  type ResolvedGroup,
  type ResolvedTable,
  readCursorPosition,
  replaceCleanColumns,
} from '@carburetor/core';
import type { SqliteExecutor, SqliteStatement } from '../driver/sqlite-driver.ts';
import {
  clearQuarantine,
  corruptMessage,
  forgetRow,
  rejectStatement,
  undecodableMessage,
} from '../replica/rejections.ts';
import type { Replica } from '../replica/replica.ts';
import {
  type CorruptRow,
  decodeStoredRow,
  readRows,
  type StoredRow,
  upsertStatementsOf,
} from '../replica/row-codec.ts';
import {
  CURSOR_TABLE,
  caughtUpKey,
  progressKey,
  quote,
  REJECTED_TABLE,
  SEEN_TABLE,
  STATE_TABLE,
  sweepKey,
} from '../schema/names.ts';
import { type DownloadProgress, needsEstimate, progressAfterPage } from './download-progress.ts';
import { nextTurn } from './next-turn.ts';
import { inGroupScope, learnScope } from './scope.ts';
import type { SyncObserver } from './sync-observer.ts';
import type { SyncTransport } from './transport.ts';
import { decodeDownloadRows } from './wire-rows.ts';

/** The sweep mark's value for a reset pass whose rows replace the replica's (another database history). */
const SWEEP_AUTHORITATIVE = 'history';

/** The entries a page delivers: rows, tombstones and out-of-scope ids. */
export function pageEntries(page: DownloadTablePage): number {
  return page.rows.length + page.tombstones.length + page.outOfScope.length;
}

/** The stored cursor of each table of `group`, by table key. */
export async function readCursors(replica: Replica, group: string): Promise<Map<string, string>> {
  const result = await replica.driver.execute(
    `SELECT table_key, cursor FROM ${CURSOR_TABLE} WHERE group_name = ?`,
    [group],
  );
  return new Map(result.rows.map((r) => [String(r['table_key']), String(r['cursor'])]));
}

async function hasRows(replica: Replica, table: ResolvedTable): Promise<boolean> {
  const result = await replica.driver.execute(
    `SELECT EXISTS (SELECT 1 FROM ${quote(table.sqlName)}) AS e`,
  );
  return Number(result.rows[0]?.['e']) === 1;
}

/** Whether one of the client's other groups still holds a local row. */
function coveredElsewhere(
  replica: Replica,
  group: ResolvedGroup,
  clientGroups: readonly ResolvedGroup[],
  table: ResolvedTable,
  values: Readonly<Record<string, unknown>>,
): boolean {
  return clientGroups.some(
    (other) => other.name !== group.name && inGroupScope(replica, other, table, values),
  );
}

/**
 * A reset pass is a first download: once its last page is in, a clean local
 * row it did not deliver is no longer in the group's scope (another user
 * signed in, the group changed) and goes, unless another group holds it.
 * The ids delivered are kept in a table, so a pass cut by a crash resumes.
 */
async function sweepStatements(
  ex: SqliteExecutor,
  replica: Replica,
  group: ResolvedGroup,
  clientGroups: readonly ResolvedGroup[],
  table: ResolvedTable,
): Promise<{ statements: SqliteStatement[]; removed: string[] }> {
  const stale = await ex.execute(
    `SELECT * FROM ${quote(table.sqlName)} WHERE ${quote(table.dirtyFlag)} IS NULL AND ${quote(table.id)} NOT IN (SELECT id FROM ${SEEN_TABLE} WHERE group_name = ? AND table_key = ?)`,
    [group.name, table.key],
  );
  const statements: SqliteStatement[] = [];
  const removed: string[] = [];
  for (const raw of stale.rows) {
    let row: StoredRow;
    try {
      row = decodeStoredRow(table, raw);
    } catch (error) {
      // Unreadable, so no telling whether another group holds it: kept, set aside.
      const id = String(raw[table.id]);
      const reason =
        error instanceof Error && error.cause instanceof Error
          ? error.cause.message
          : String(error);
      statements.push(
        rejectStatement(
          table,
          id,
          'corrupt_local_row',
          corruptMessage(table, id, reason),
          replica.now(),
        ),
      );
      continue;
    }
    if (!coveredElsewhere(replica, group, clientGroups, table, row.values)) {
      statements.push(...forgetRow(table, row.id));
      removed.push(row.id);
    }
  }
  statements.push(
    {
      sql: `DELETE FROM ${SEEN_TABLE} WHERE group_name = ? AND table_key = ?`,
      params: [group.name, table.key],
    },
    { sql: `DELETE FROM ${STATE_TABLE} WHERE key = ?`, params: [sweepKey(group.name, table.key)] },
  );
  return { statements, removed };
}

/** Ids of the table's rows set aside as `undecodable_download` (almost always none). */
async function undecodableIds(ex: SqliteExecutor, table: ResolvedTable): Promise<Set<string>> {
  const result = await ex.execute(
    `SELECT id FROM ${REJECTED_TABLE} WHERE table_key = ? AND code = 'undecodable_download'`,
    [table.key],
  );
  return new Set(result.rows.map((r) => String(r['id'])));
}

/** Rows of a page merged between two turns of the event loop (a few ms). */
const ROWS_PER_TURN = 1_024;
/** Statements of a page run between two turns: those of about {@link ROWS_PER_TURN} rows. */
const STATEMENTS_PER_TURN = 16;

/** No turn: a page of fewer than {@link ROWS_PER_TURN} entries (a push, a quiet table's page) takes none. */
const noTurn = (): Promise<void> => Promise.resolve();

/** Runs statements in order, {@link STATEMENTS_PER_TURN} at a time, with `turn` between. */
async function runInTurns(
  ex: SqliteExecutor,
  parts: readonly Iterable<SqliteStatement>[],
  turn: () => Promise<void>,
): Promise<void> {
  let slice: SqliteStatement[] = [];
  for (const part of parts) {
    for (const statement of part) {
      slice.push(statement);
      if (slice.length < STATEMENTS_PER_TURN) continue;
      await ex.executeBatch(slice);
      slice = [];
      await turn();
    }
  }
  if (slice.length > 0) await ex.executeBatch(slice);
}

/**
 * Applies one table's part of a page, inside the page's transaction. Says
 * whether scope was learned and which rows of the table changed.
 */
async function applyTablePage(
  ex: SqliteExecutor,
  replica: Replica,
  group: ResolvedGroup,
  clientGroups: readonly ResolvedGroup[],
  table: ResolvedTable,
  page: DownloadTablePage,
): Promise<{ learned: boolean; changed: Set<string> }> {
  const statements: SqliteStatement[] = [];
  let learned = false;
  const changed = new Set<string>();
  const key = sweepKey(group.name, table.key);
  let sweeping = page.reset;
  // A reset pass after the server's history changed: its rows replace the replica's clean ones.
  let authoritative = page.reset && page.authoritative === true;
  if (page.reset) {
    statements.push(
      {
        sql: `DELETE FROM ${SEEN_TABLE} WHERE group_name = ? AND table_key = ?`,
        params: [group.name, table.key],
      },
      {
        sql: `INSERT OR REPLACE INTO ${STATE_TABLE} (key, value) VALUES (?, ?)`,
        params: [key, authoritative ? SWEEP_AUTHORITATIVE : '1'],
      },
    );
  } else {
    const marker = await ex.execute(`SELECT value FROM ${STATE_TABLE} WHERE key = ?`, [key]);
    sweeping = marker.rows.length > 0;
    authoritative = marker.rows[0]?.['value'] === SWEEP_AUTHORITATIVE;
  }
  // A catch-up page brings columns of rows the replica holds: it delivers no row to a sweep.
  if (sweeping && !page.catchUp) {
    for (const id of [...page.rows.map((r) => r[0]), ...page.tombstones]) {
      statements.push({
        sql: `INSERT OR IGNORE INTO ${SEEN_TABLE} (group_name, table_key, id) VALUES (?, ?, ?)`,
        params: [group.name, table.key, id],
      });
    }
  }

  // A page applied to a synchronous SQLite holds the thread for tens of ms: turns let the
  // request sent ahead go out (and a server in this process read its page meanwhile).
  // A small page (a pushed write on its way to the screen) takes no turn.
  const entries = page.rows.length + page.tombstones.length + page.outOfScope.length;
  const turn = entries >= ROWS_PER_TURN ? nextTurn : noTurn;
  await turn();
  const incoming = decodeDownloadRows(table, page);
  const ids = [...incoming.map((r) => r.id), ...page.tombstones, ...page.outOfScope];
  const corrupt = new Map<string, CorruptRow>();
  const current = await readRows(ex, table, ids, corrupt);
  await turn();
  const undecodable = await undecodableIds(ex, table);
  const now = replica.now();
  /** Sets aside a local row that cannot be read, holding the app's unsent work. */
  const setAside = (damaged: CorruptRow) =>
    statements.push(
      rejectStatement(
        table,
        damaged.id,
        'corrupt_local_row',
        corruptMessage(table, damaged.id, damaged.message),
        now,
      ),
    );
  // The last state of each row to write, by id: a row written twice in a page is written once.
  const writes = new Map<string, StoredRow>();

  let taken = 0;
  for (const row of incoming) {
    if (++taken % ROWS_PER_TURN === 0) await turn();
    // A catch-up row only completes a row the replica holds (its config gained columns).
    if (page.catchUp && !current.has(row.id) && !corrupt.has(row.id)) continue;
    if ('problem' in row) {
      // The cursor moves on without it; the server's fix is a new write, sent again.
      statements.push(
        rejectStatement(
          table,
          row.id,
          'undecodable_download',
          undecodableMessage(table, row.id, [row.problem]),
          now,
        ),
      );
      undecodable.add(row.id);
      continue;
    }
    if (undecodable.delete(row.id)) {
      statements.push(clearQuarantine(table, row.id, 'undecodable_download'));
    }
    const damaged = corrupt.get(row.id);
    if (damaged) {
      if (damaged.dirty !== null) {
        setAside(damaged);
        continue;
      }
      // A clean row holds no local work: the server's version replaces it whole.
      corrupt.delete(row.id);
      statements.push(clearQuarantine(table, row.id, 'corrupt_local_row'));
    }
    replica.observeStamps(row.metadata);
    const local = current.get(row.id);
    const merged = authoritative
      ? replaceCleanColumns(local, row, table.isDeleted)
      : mergeIncomingRow(local, row, table.isDeleted);
    if (!page.catchUp) learned = learnScope(replica, group, table, row.values) || learned;
    if (!merged.changed) continue;
    const dirty = local && dirtyColumns(merged.metadata).length > 0 ? local.dirty : null;
    const next = { id: row.id, values: merged.values, metadata: merged.metadata, dirty };
    current.set(row.id, next);
    writes.set(row.id, next);
    changed.add(row.id);
  }

  // An id-only tombstone (a first download into a replica that holds rows)
  // brings no columns, so a clean local copy may keep stale ones (§6): it is
  // forgotten, as a first download leaves deleted rows out. A dirty copy is
  // the app's unsent work: marked deleted, its upload's answer brings the rest.
  const forgotten: string[] = [];
  for (const id of page.tombstones) {
    // Deleted on the server: whatever value could not be decoded no longer matters.
    if (undecodable.delete(id)) statements.push(clearQuarantine(table, id, 'undecodable_download'));
    const damaged = corrupt.get(id);
    if (damaged) {
      if (damaged.dirty === null) {
        forgotten.push(id);
        changed.add(id);
      } else {
        setAside(damaged);
      }
      continue;
    }
    const local = current.get(id);
    if (!local) continue;
    if (local.dirty === null) {
      forgotten.push(id);
      changed.add(id);
      continue;
    }
    const merged = applyTombstone(local, table.isDeleted);
    if (!merged.changed) continue;
    const dirty = dirtyColumns(merged.metadata).length > 0 ? local.dirty : null;
    writes.set(id, { id, values: merged.values, metadata: merged.metadata, dirty });
    changed.add(id);
  }
  // The upserts go here, made as they run (see runInTurns).
  const upsertsAt = statements.length;
  const upserts = upsertStatementsOf(table, [...writes.values()]);
  for (const id of forgotten) statements.push(...forgetRow(table, id));

  for (const id of page.outOfScope) {
    const damaged = corrupt.get(id);
    if (damaged) {
      // Unreadable, so no telling whether another group holds it: kept, set aside.
      setAside(damaged);
      continue;
    }
    const local = current.get(id);
    if (!local && undecodable.delete(id)) {
      statements.push(clearQuarantine(table, id, 'undecodable_download'));
    }
    // A dirty row is the app's unsent work: keep it, its upload settles it.
    if (!local || local.dirty !== null) continue;
    if (coveredElsewhere(replica, group, clientGroups, table, local.values)) continue;
    statements.push(...forgetRow(table, id));
    changed.add(id);
  }

  statements.push({
    sql: `INSERT OR REPLACE INTO ${CURSOR_TABLE} (group_name, table_key, cursor) VALUES (?, ?, ?)`,
    params: [group.name, table.key, page.cursor],
  });
  await runInTurns(
    ex,
    [statements.slice(0, upsertsAt), upserts, statements.slice(upsertsAt)],
    turn,
  );
  if (sweeping && !page.hasMore) {
    const sweep = await sweepStatements(ex, replica, group, clientGroups, table);
    await ex.executeBatch(sweep.statements);
    for (const id of sweep.removed) changed.add(id);
  }
  return { learned, changed };
}

/**
 * Applies a whole page, with its cursors, in one SQLite transaction; returns
 * the ids of the rows it changed, by table key (only tables with changes).
 */
export async function applyPage(
  replica: Replica,
  group: ResolvedGroup,
  clientGroups: readonly ResolvedGroup[],
  response: DownloadResponse,
  /** A download's last page: the group is caught up (a push never says so: it covers some tables). */
  endsDownload = true,
  /** Written in the page's transaction too (the progress of first downloads). */
  extra: readonly SqliteStatement[] = [],
): Promise<Map<string, Set<string>>> {
  const changed = new Map<string, Set<string>>();
  await replica.transaction(async (ex) => {
    const statements: SqliteStatement[] = [...extra];
    let learned = false;
    const pages = Object.entries(response.tables);
    // A reset means the group or the caller changed: what was learned is stale.
    if (pages.some(([, page]) => page.reset) && replica.forgetScope(group.name)) learned = true;
    for (const [key, page] of pages) {
      const table = group.table[key]?.table;
      if (!table) continue;
      const applied = await applyTablePage(ex, replica, group, clientGroups, table, page);
      learned = applied.learned || learned;
      if (applied.changed.size > 0) changed.set(table.key, applied.changed);
    }
    if (learned) statements.push(replica.scopeStatement(group.name));
    // The group's last page: every table it asked for is caught up (status.hasSynced).
    if (endsDownload && !response.hasMore) {
      statements.push({
        sql: `INSERT OR IGNORE INTO ${STATE_TABLE} (key, value) VALUES (?, ?)`,
        params: [caughtUpKey(group.name), new Date(replica.now()).toISOString()],
      });
    }
    if (statements.length > 0) await ex.executeBatch(statements);
  });
  return changed;
}

/**
 * The progress of the group's first downloads that a replica recorded (a
 * download cut by a reload or a crash), by table key.
 */
export async function readProgress(
  ex: SqliteExecutor,
  groups: readonly ResolvedGroup[],
): Promise<DownloadProgress[]> {
  const keys = new Map<string, [group: string, table: string]>();
  for (const group of groups) {
    for (const { table } of group.tables) {
      keys.set(progressKey(group.name, table.key), [group.name, table.key]);
    }
  }
  const result = await ex.execute(
    `SELECT key, value FROM ${STATE_TABLE} WHERE key IN (SELECT value FROM json_each(?))`,
    [JSON.stringify([...keys.keys()])],
  );
  const out: DownloadProgress[] = [];
  for (const row of result.rows) {
    const [group, table] = keys.get(String(row['key']))!;
    try {
      const { done, expected, atLeast } = JSON.parse(String(row['value'])) as Record<
        string,
        unknown
      >;
      if (typeof done !== 'number' || typeof expected !== 'number') continue;
      out.push(
        Object.freeze({ group, table, done, expected, atLeast: atLeast === true, complete: false }),
      );
    } catch {
      // An unreadable mark only costs the bar its history: the next page asks for a count.
    }
  }
  return out;
}

/** The statement that records a table's progress in the page's transaction (or forgets it once complete). */
function progressStatement(progress: DownloadProgress): SqliteStatement {
  const key = progressKey(progress.group, progress.table);
  if (progress.complete) return { sql: `DELETE FROM ${STATE_TABLE} WHERE key = ?`, params: [key] };
  const { done, expected, atLeast } = progress;
  return {
    sql: `INSERT OR REPLACE INTO ${STATE_TABLE} (key, value) VALUES (?, ?)`,
    params: [key, JSON.stringify({ done, expected, atLeast })],
  };
}

/**
 * Page sizes from which a download keeps two requests in flight, each of
 * half the page size: the next page is asked for while the last one is
 * applied, so the server's time and the replica's overlap (in Chromium
 * both threads sat idle most of a 100k-row first download waiting on each
 * other). Half pages keep what a reload can cost at one page: the page
 * being applied and the one in flight. Smaller pages go one at a time.
 */
export const PIPELINED_PAGE_SIZE = 2_000;

/** One download request, and what was known when it was made. */
interface PlannedRequest {
  readonly request: DownloadRequest;
  /** The cursors it continues, by table key (null: none). */
  readonly cursors: ReadonlyMap<string, string | null>;
  /** The tables in a first download: no cursor, or one inside a first pass. */
  readonly first: ReadonlySet<string>;
}

/** A request sent ahead, while the page before it is applied. */
interface RequestAhead {
  readonly plan: PlannedRequest;
  readonly sentAt: number;
  readonly answer: Promise<{ response: DownloadResponse; receivedAt: number }>;
}

/** The request for the next page of `tables`, continuing `cursors`. */
function planRequest(
  replica: Replica,
  tables: readonly ResolvedTable[],
  cursors: ReadonlyMap<string, string | null>,
  holdsRows: ReadonlyMap<string, boolean>,
  progress: ReadonlyMap<string, DownloadProgress>,
  pageSize: number | undefined,
  after: string | undefined,
): PlannedRequest {
  const request: DownloadRequest = {
    protocol: PROTOCOL_VERSION,
    clientId: replica.clientId,
    tables: {},
    ...(pageSize === undefined ? {} : { pageSize }),
    ...(after === undefined ? {} : { after }),
  };
  const first = new Set<string>();
  for (const table of tables) {
    const cursor = cursors.get(table.key) ?? null;
    const inFirstPass = cursor !== null && readCursorPosition(cursor)?.floor === null;
    if (cursor === null || inFirstPass) first.add(table.key);
    const estimate = needsEstimate(progress.get(table.key), inFirstPass);
    request.tables[table.key] = {
      cursor,
      hasRows: holdsRows.get(table.key) ?? false,
      ...(estimate ? { estimate } : {}),
    };
  }
  return { request, cursors, first };
}

/** Whether the replica's cursors are still those a request sent ahead continues. */
function continues(plan: PlannedRequest, cursors: ReadonlyMap<string, string>): boolean {
  for (const [key, cursor] of plan.cursors) {
    if ((cursors.get(key) ?? null) !== cursor) return false;
  }
  return true;
}

/**
 * Downloads every page of a group until caught up, each page applied in one
 * transaction together with its cursors (and the progress of the tables'
 * first downloads), telling `observer` of each page. With large pages (see
 * {@link PIPELINED_PAGE_SIZE}) the next request goes out while a page is
 * applied; it is used only if the page left the cursors it continues.
 */
export async function downloadGroup(
  replica: Replica,
  transport: SyncTransport,
  group: ResolvedGroup,
  clientGroups: readonly ResolvedGroup[],
  pageSize: number | undefined,
  observer?: SyncObserver,
  /** A change the client was told of (a WAL position): a standby serves it only once replayed. */
  after?: string,
): Promise<void> {
  const pipelined = pageSize !== undefined && pageSize >= PIPELINED_PAGE_SIZE;
  const requestSize = pipelined ? Math.ceil(pageSize / 2) : pageSize;
  let pending = group.tables.map((t) => t.table);
  const progress = new Map<string, DownloadProgress>();
  for (const p of await readProgress(replica.driver, [group])) progress.set(p.table, p);
  let ahead: RequestAhead | undefined;
  while (pending.length > 0) {
    const cursors = await readCursors(replica, group.name);
    // No cursor: a fresh first download (a discard or a reset may have cut an earlier one).
    for (const table of pending) if (!cursors.has(table.key)) progress.delete(table.key);
    let sent = ahead && continues(ahead.plan, cursors) ? ahead : undefined;
    ahead = undefined;
    if (!sent) {
      const holdsRows = new Map<string, boolean>();
      for (const table of pending) holdsRows.set(table.key, await hasRows(replica, table));
      const plan = planRequest(replica, pending, cursors, holdsRows, progress, requestSize, after);
      sent = send(replica, transport, group, plan);
    }
    const { response, receivedAt } = await sent.answer;
    replica.observeServerTime(response.serverTime, sent.sentAt, receivedAt);
    const moved: DownloadProgress[] = [];
    for (const [key, page] of Object.entries(response.tables)) {
      const next = progressAfterPage(progress.get(key), group.name, key, sent.plan.first.has(key), {
        delivered: pageEntries(page),
        remaining: page.remaining,
        hasMore: page.hasMore,
        reset: page.reset,
      });
      if (!next) continue;
      progress.set(key, next);
      moved.push(next);
    }
    const rest = pending.filter((t) => response.tables[t.key]?.hasMore === true);
    if (pipelined && rest.length > 0) {
      // The next page continues this one's cursors (applyPage writes those of the group's
      // tables): asked for now, used once this one is in.
      const nextCursors = new Map(sent.plan.cursors);
      for (const [key, page] of Object.entries(response.tables)) {
        if (group.table[key]) nextCursors.set(key, page.cursor);
      }
      const holdsRows = new Map<string, boolean>();
      for (const table of rest) {
        // This page's rows are in the replica by then; a row it removes only makes the
        // server send an id-only tombstone the replica does not need.
        const delivers = (response.tables[table.key]?.rows.length ?? 0) > 0;
        holdsRows.set(table.key, delivers || (await hasRows(replica, table)));
      }
      const plan = planRequest(replica, rest, nextCursors, holdsRows, progress, requestSize, after);
      ahead = send(replica, transport, group, plan);
    }
    const changed = await applyPage(
      replica,
      group,
      clientGroups,
      response,
      true,
      moved.map(progressStatement),
    );
    let delivered = 0;
    for (const page of Object.values(response.tables)) delivered += pageEntries(page);
    observer?.pageApplied(new Set(changed.keys()), delivered, changed);
    if (moved.length > 0) observer?.progressed?.(moved);
    pending = rest;
  }
}

/** Sends a planned request; its answer is awaited later (a failure is not unhandled meanwhile). */
function send(
  replica: Replica,
  transport: SyncTransport,
  group: ResolvedGroup,
  plan: PlannedRequest,
): RequestAhead {
  const sentAt = replica.now();
  const answer = transport
    .download(group.name, plan.request)
    .then((response) => ({ response, receivedAt: replica.now() }));
  answer.catch(() => undefined);
  return { plan, sentAt, answer };
}
