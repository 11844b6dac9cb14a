import {
  type AnySyncConfig,
  MAX_PUSHED_ROWS,
  type PushedPage,
  type ResolvedGroup,
} from '@carburetor/core';
import type { Kysely } from 'kysely';
import { type CursorState, decodeCursor } from '../download/cursor.ts';
import { readSnapshotHead, type SnapshotHead } from '../download/database-history.ts';
import type { ContextValues } from '../download/download.ts';
import { readPageWithHead } from '../download/page-with-head.ts';

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
 * rows changed since that floor, and moves the chain to the page's end: one
 * statement per table, which also reads its snapshot's head (a push is on
 * the path from a write to every subscriber's screen; a download page's
 * transaction takes four round trips). A client whose cursor is at or past
 * a page's `from` applies it; one below it (it missed a push) downloads.
 *
 * A table without a chain yet (its scope's first change), whose change is
 * larger than {@link MAX_PUSHED_ROWS}, or whose chain was made in another
 * run or history of the primary, gets no page: its chain starts over at the
 * floor read now, and its subscribers download this once.
 */
export class PushPages {
  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  readonly #db: Kysely<any>;
  readonly #config: AnySyncConfig;
  readonly #chains = new Map<string, ChainEnd>();
  readonly #inFlight = new Map<string, Promise<Push>>();
  /** Database reads made for pushes (tests and benchmarks count them). */
  reads = 0;

  // biome-ignore lint/suspicious/noExplicitAny: any database schema
  constructor(db: Kysely<any>, config: AnySyncConfig) {
    this.#db = db;
    this.#config = config;
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
    const pages: Record<string, PushedPage> = {};
    const restart: string[] = [];
    const chained: string[] = [];
    for (const table of tables) {
      if (!group.table[table]) continue;
      (this.#chains.has(chainKey(table)) ? chained : restart).push(table);
    }
    let serverTime = Date.now();
    /** The latest head read: a chain that starts over starts from it. */
    let head: SnapshotHead | undefined;
    if (chained.length > 0) this.reads++;
    // One statement per table, each with its snapshot: a chain is one table's, and a page
    // continues only its own table's cursor.
    await Promise.all(
      chained.map(async (table) => {
        const chain = this.#chains.get(chainKey(table))!;
        const from = chain.floor.toString();
        const read = await readPageWithHead(
          this.#db,
          this.#config,
          group,
          table,
          values,
          { ...chain, floor: from },
          MAX_PUSHED_ROWS,
        );
        head = read.head;
        serverTime = read.head.now;
        const { page } = read;
        // Another run or history than the chain's, or more than one push carries: start over.
        if (page === undefined || page.hasMore) {
          restart.push(table);
          return;
        }
        const { fingerprint: _, floor, pass: __, ...end } = decodeCursor(page.cursor, table);
        pages[table] = { ...page, from };
        this.#advance(chainKey(table), { ...end, floor: BigInt(floor!) });
      }),
    );
    if (restart.length > 0) {
      if (head === undefined) {
        this.reads++;
        head = await readSnapshotHead(this.#db);
      }
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
