import {
  type AnySyncConfig,
  configIdentity,
  type DownloadRequest,
  MAX_PUSHED_ROWS,
  PROTOCOL_VERSION,
  type PushedPage,
  type ResolvedGroup,
  readCursorPosition,
} from '@carburetor/core';
import { type Kysely, sql } from 'kysely';
import { cursorFingerprint, encodeCursor } from '../download/cursor.ts';
import { type ContextValues, downloadChanges } from '../download/download.ts';

/** The pages of one push, and when they were read. */
export interface Push {
  /** By table key; a table changed but missing here is to be downloaded. */
  readonly pages: Readonly<Record<string, PushedPage>>;
  readonly serverTime: number;
  /**
   * The primary's WAL position, read with the chain restart when a changed
   * table got no page: its subscribers download with it as `after`, so a
   * standby serves them only once it has replayed the change.
   */
  readonly lsn?: string;
}

/**
 * The scope a group's subscriber sees: its values of the group's
 * restrictions ('' for an unrestricted group). Subscribers of one scope get
 * the same pages.
 */
export function scopeOf(group: ResolvedGroup, values: ContextValues): string {
  return group.contextKeys.length === 0
    ? ''
    : JSON.stringify(group.contextKeys.map((key) => values[key] ?? null));
}

/**
 * Reads pushed pages once per (group, scope) and change, for every
 * subscriber of the scope. Each (group, scope, table) keeps a chain: the
 * floor its last push ended at. A push reads, as one download page, the
 * rows changed since that floor, and moves the chain to the page's end. A
 * client whose cursor is at or past a page's `from` applies it; one below
 * it (it missed a push) downloads.
 *
 * A table without a chain yet (its scope's first change), or whose change
 * is larger than {@link MAX_PUSHED_ROWS}, gets no page: its chain starts
 * over at the floor read now, and its subscribers download this once.
 */
export class PushPages {
  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  readonly #db: Kysely<any>;
  readonly #config: AnySyncConfig;
  /** Pushed cursors name the server's config: they deliver its columns. */
  readonly #identity: string;
  readonly #chains = new Map<string, bigint>();
  readonly #inFlight = new Map<string, Promise<Push>>();
  /** Database reads made for pushes (tests and benchmarks count them). */
  reads = 0;

  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  constructor(db: Kysely<any>, config: AnySyncConfig) {
    this.#db = db;
    this.#config = config;
    this.#identity = configIdentity(config);
  }

  /**
   * The pages of `tables` for the scope of `values`; subscribers of one
   * scope asking at the same time share one read.
   */
  pushFor(group: ResolvedGroup, values: ContextValues, tables: readonly string[]): Promise<Push> {
    const scope = scopeOf(group, values);
    const key = `${group.name}\u0000${scope}\u0000${[...tables].sort().join('\u0000')}`;
    let push = this.#inFlight.get(key);
    if (!push) {
      push = this.#read(group, values, scope, tables).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, push);
    }
    return push;
  }

  /** Forgets the chains of a scope nobody listens to any more. */
  forget(group: ResolvedGroup, values: ContextValues): void {
    const prefix = `${group.name}\u0000${scopeOf(group, values)}\u0000`;
    for (const key of this.#chains.keys()) if (key.startsWith(prefix)) this.#chains.delete(key);
  }

  async #read(
    group: ResolvedGroup,
    values: ContextValues,
    scope: string,
    tables: readonly string[],
  ): Promise<Push> {
    const chainKey = (table: string) => `${group.name}\u0000${scope}\u0000${table}`;
    const request: DownloadRequest = {
      protocol: PROTOCOL_VERSION,
      clientId: 'push',
      tables: {},
      pageSize: MAX_PUSHED_ROWS,
    };
    const froms = new Map<string, bigint>();
    const restart: string[] = [];
    for (const table of tables) {
      const entry = group.table[table];
      if (!entry) continue;
      const floor = this.#chains.get(chainKey(table));
      if (floor === undefined) {
        restart.push(table);
        continue;
      }
      froms.set(table, floor);
      request.tables[table] = {
        cursor: encodeCursor({
          fingerprint: cursorFingerprint(group, entry, values),
          floor: floor.toString(),
          config: this.#identity,
        }),
        hasRows: true,
      };
    }
    const pages: Record<string, PushedPage> = {};
    let serverTime = Date.now();
    if (froms.size > 0) {
      this.reads++;
      const response = await downloadChanges(this.#db, this.#config, group.name, request, values);
      serverTime = response.serverTime;
      for (const [table, page] of Object.entries(response.tables)) {
        const end = readCursorPosition(page.cursor);
        if (page.hasMore || page.reset || !end || end.floor === null || end.inPass) {
          restart.push(table);
          continue;
        }
        const from = froms.get(table)!;
        pages[table] = { ...page, from: from.toString() };
        // Concurrent reads of one chain may end in either order: it only moves up.
        const chain = this.#chains.get(chainKey(table));
        if (chain === undefined || chain < end.floor) this.#chains.set(chainKey(table), end.floor);
      }
    }
    let lsn: string | undefined;
    if (restart.length > 0) {
      this.reads++;
      const now = await sql<{ floor: string; lsn: string }>`
        select pg_snapshot_xmin(pg_current_snapshot())::text as floor,
          pg_current_wal_lsn()::text as lsn`.execute(this.#db);
      const floor = BigInt(now.rows[0]!.floor);
      lsn = now.rows[0]!.lsn;
      for (const table of restart) {
        const chain = this.#chains.get(chainKey(table));
        if (chain === undefined || chain < floor) this.#chains.set(chainKey(table), floor);
      }
    }
    return lsn === undefined ? { pages, serverTime } : { pages, serverTime, lsn };
  }
}
