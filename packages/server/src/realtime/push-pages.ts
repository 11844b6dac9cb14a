import {
  type AnySyncConfig,
  configIdentity,
  type DownloadRequest,
  MAX_PUSHED_ROWS,
  PROTOCOL_VERSION,
  type PushedPage,
  type ResolvedGroup,
} from '@carburetor/core';
import type { Kysely } from 'kysely';
import {
  type CursorState,
  cursorFingerprint,
  decodeCursor,
  encodeCursor,
} from '../download/cursor.ts';
import { readSnapshotHead } from '../download/database-history.ts';
import { type ContextValues, downloadChanges } from '../download/download.ts';

/** The pages of one push, and when they were read. */
export interface Push {
  /** By table key; a table changed but missing here is to be downloaded. */
  readonly pages: Readonly<Record<string, PushedPage>>;
  readonly serverTime: number;
}

/**
 * Where a chain stands: the cursor its last page ended with, without the
 * fingerprint (each table of each scope has its own). Its history and run
 * go into the next read, so a chain made before a failover or a restart of
 * the primary is reset or lowered like any client's cursor.
 */
type ChainEnd = Omit<CursorState, 'fingerprint' | 'floor' | 'pass'> & { readonly floor: bigint };

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
  readonly #chains = new Map<string, ChainEnd>();
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
      const chain = this.#chains.get(chainKey(table));
      if (chain === undefined) {
        restart.push(table);
        continue;
      }
      froms.set(table, chain.floor);
      request.tables[table] = {
        cursor: encodeCursor({
          ...chain,
          fingerprint: cursorFingerprint(group, entry, values),
          floor: chain.floor.toString(),
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
        const { fingerprint: _, floor, pass, ...end } = decodeCursor(page.cursor, table);
        if (page.hasMore || page.reset || floor === null || pass) {
          restart.push(table);
          continue;
        }
        const from = froms.get(table)!;
        pages[table] = { ...page, from: from.toString() };
        this.#advance(chainKey(table), { ...end, floor: BigInt(floor) });
      }
    }
    if (restart.length > 0) {
      this.reads++;
      const head = await readSnapshotHead(this.#db);
      for (const table of restart) {
        this.#advance(chainKey(table), {
          floor: BigInt(head.xmin),
          history: head.history,
          ...(head.run === undefined ? {} : { run: head.run }),
        });
      }
    }
    return { pages, serverTime };
  }

  /**
   * Moves a chain to where a read ended. Concurrent reads of one chain may
   * end in either order: within one run of the primary it only moves up; an
   * end from another run (a restart) replaces it.
   */
  #advance(key: string, end: ChainEnd): void {
    const chain = this.#chains.get(key);
    const sameRun = chain?.run?.started === end.run?.started && chain?.history === end.history;
    if (chain === undefined || !sameRun || chain.floor < end.floor) this.#chains.set(key, end);
  }
}
