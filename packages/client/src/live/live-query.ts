import type { ResolvedTable } from '@carburetor/core';
import {
  type CompiledQuery,
  createQueryId,
  type OperationNode,
  type QueryExecutor,
  type RootOperationNode,
} from 'kysely';
import { CarburetorClientError } from '../errors.ts';
import type { ChangeEvent, ChangeListener } from '../sync/change-emitter.ts';
import { PatchPlan, type PlannedRow } from './patch-plan.ts';
import { tablesRead } from './query-tables.ts';

/**
 * What `client.live` takes: a kysely query on `client.db` (a select, with
 * joins, subqueries, `active…()` refined...), or any object that compiles to
 * one and executes it.
 *
 * @example
 * ```ts
 * const source: LiveSource<{ id: string; name: string }> =
 *   client.activePhoneBooks().clearSelect().select(['id', 'name']);
 * ```
 */
export interface LiveSource<R> {
  compile(): CompiledQuery;
  execute(): Promise<R[]>;
}

/**
 * Options of `client.live`.
 *
 * @example
 * ```ts
 * client.live(db.selectFrom(sql`phone_books`.as('p')).selectAll(), { tables: ['phone_book'] });
 * ```
 */
export interface LiveOptions<K extends string = string> {
  /**
   * The table keys whose changes refresh the query, for a query whose
   * tables cannot be read from it (raw `sql`). Default: the tables it
   * reads (from, joins, subqueries, CTEs); every table when it names none.
   * Given, the query is always re-run, never patched.
   */
  tables?: readonly K[];
}

/**
 * A live query's state: a frozen snapshot, replaced by a new object on each
 * change (fit for `useSyncExternalStore`). `rows` is a new array after each
 * change; rows that did not change keep their identity.
 *
 * @example
 * ```ts
 * const { status, rows, error } = live.current;
 * if (status === 'success') render(rows);
 * ```
 */
export type LiveResult<R> =
  | { readonly status: 'pending'; readonly rows: undefined; readonly error: undefined }
  | { readonly status: 'success'; readonly rows: readonly R[]; readonly error: undefined }
  | {
      readonly status: 'error';
      /** The last rows it had, if any. */
      readonly rows: readonly R[] | undefined;
      readonly error: Error;
    };

/** What a live query needs from its client. */
export interface LiveContext {
  /** Runs operation trees with the replica's plugins (its `db.getExecutor()`). */
  readonly executor: QueryExecutor;
  /** SQL table name → the config's table. */
  readonly bySqlName: ReadonlyMap<string, ResolvedTable>;
  /** The client's change events (`client.onChange`). */
  onChange(listener: ChangeListener): () => void;
  /** Told when a live query closes, so the client need not close it again. */
  closed?(query: LiveQuery<unknown>): void;
}

const PENDING = Object.freeze({ status: 'pending', rows: undefined, error: undefined });

/** More changed rows than this, or than a quarter of the result, and a re-run is cheaper. */
const MAX_PATCH_IDS = 512;

interface Waiter<R> {
  readonly generation: number;
  resolve(rows: readonly R[]): void;
  reject(error: unknown): void;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A query over the replica kept up to date: it runs when first subscribed
 * (or asked for its `result()`), then after each change event that names a
 * table it reads, until `close()`. A simple query (one table, a filter on
 * the row alone, plain columns and ORDER BY columns, no limit: the
 * `active…()` queries and most refinements) is patched: only the changed
 * rows are read again and merged into the previous result. Any other query
 * is re-run whole. Either way the result equals a fresh run of the query
 * once the changes so far are applied (see `result()`); rows that tie on
 * the ORDER BY of a patched query, or a patched query without one, come in
 * the replica's row order.
 *
 * @example
 * ```ts
 * const live = client.live(client.activePhoneBooks().orderBy('name'));
 * const unsubscribe = live.subscribe(({ rows }) => render(rows ?? []));
 * await client.insertPhoneBook({ owner_id: me, name: 'Ada', phone_number: '1' }); // render runs again
 * unsubscribe();
 * live.close();
 * ```
 */
export class LiveQuery<R> {
  /** The table keys whose changes refresh it; empty: every change does (a query naming no table). */
  readonly tables: readonly string[];
  /** Whether changes are applied row by row (true) or by re-running the query. */
  readonly patched: boolean;
  readonly #source: LiveSource<R>;
  readonly #context: LiveContext;
  readonly #plan: PatchPlan | undefined;
  readonly #listeners = new Set<(result: LiveResult<R>) => void>();
  #current: LiveResult<R> = PENDING;
  #entries: PlannedRow<R>[] = [];
  #unsubscribe: (() => void) | undefined;
  #started = false;
  #closed = false;
  /** Changes heard so far, counting the first run as one. */
  #generation = 1;
  /** The generation the current result reflects. */
  #applied = 0;
  /** A full run is owed (the first, a change without ids, a failure). */
  #rerun = true;
  /** Ids changed since the last refresh (patched queries). */
  #changedIds = new Set<string>();
  #running: Promise<void> | undefined;
  #waiters: Waiter<R>[] = [];

  /** Use `client.live(query, options)`. */
  constructor(source: LiveSource<R>, options: LiveOptions | undefined, context: LiveContext) {
    this.#source = source;
    this.#context = context;
    const node = nodeOf(source);
    if (options?.tables !== undefined) {
      this.tables = Object.freeze([...options.tables]);
      this.#plan = undefined;
    } else {
      this.tables = Object.freeze([...tablesRead(node, context.bySqlName)]);
      this.#plan = planOf(source, context);
    }
    this.patched = this.#plan !== undefined;
  }

  /** The latest result; `status: 'pending'` until the first run ends. */
  get current(): LiveResult<R> {
    return this.#current;
  }

  /**
   * Calls `listener` with each new result; starts the query if it has not
   * run yet. Returns the unsubscribe function (the query keeps following
   * changes until `close()`).
   *
   * @example
   * ```ts
   * const rows = useSyncExternalStore(live.subscribe, () => live.current);
   * ```
   */
  subscribe = (listener: (result: LiveResult<R>) => void): (() => void) => {
    this.#listeners.add(listener);
    this.#start();
    return () => {
      this.#listeners.delete(listener);
    };
  };

  /**
   * The rows once every change announced before the call is applied (the
   * first run included): after `await client.insertPhoneBook(...)`,
   * `await live.result()` includes the row. Rejects with the query's error,
   * or `closed` when the live query is closed first.
   *
   * @example
   * ```ts
   * const rows = await client.live(client.activePhoneBooks()).result();
   * ```
   */
  result(): Promise<readonly R[]> {
    if (this.#closed) return Promise.reject(closedError());
    this.#start();
    const generation = this.#generation;
    if (this.#applied >= generation) return this.#settled();
    return new Promise((resolve, reject) => this.#waiters.push({ generation, resolve, reject }));
  }

  /** Stops following changes; pending `result()` calls reject with `closed`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    this.#listeners.clear();
    for (const waiter of this.#waiters.splice(0)) waiter.reject(closedError());
    this.#context.closed?.(this as LiveQuery<unknown>);
  }

  #settled(): Promise<readonly R[]> {
    const current = this.#current;
    return current.status === 'error'
      ? Promise.reject(current.error)
      : Promise.resolve(current.rows ?? []);
  }

  #start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    // Listen first: a change that commits while the first run reads is applied after it.
    this.#unsubscribe = this.#context.onChange((event) => this.#changed(event));
    this.#kick();
  }

  #changed(event: ChangeEvent): void {
    if (this.#closed) return;
    const relevant =
      this.tables.length === 0 ? event.tables : event.tables.filter((t) => this.tables.includes(t));
    if (relevant.length === 0) return;
    this.#generation++;
    const ids = this.#plan ? event.ids?.[this.#plan.table.key] : undefined;
    if (ids === undefined) this.#rerun = true;
    else for (const id of ids) this.#changedIds.add(id);
    this.#kick();
  }

  #kick(): void {
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  /** Applies the changes heard so far, one refresh at a time, until none is left. */
  async #drain(): Promise<void> {
    while (!this.#closed && this.#applied < this.#generation) {
      const generation = this.#generation;
      const ids = this.#changedIds;
      this.#changedIds = new Set();
      const limit = Math.max(MAX_PATCH_IDS / 8, this.#entries.length / 4);
      const rerun = this.#rerun || ids.size > Math.min(MAX_PATCH_IDS, limit);
      this.#rerun = false;
      try {
        const rows = rerun ? await this.#runFull() : await this.#patch(ids);
        if (this.#closed) return;
        this.#applied = generation;
        if (rows !== undefined || this.#current.status !== 'success') {
          this.#publish({
            status: 'success',
            rows: rows ?? (this.#current.rows as readonly R[]),
            error: undefined,
          });
        }
      } catch (error) {
        if (this.#closed) return;
        this.#applied = generation;
        // The patched rows may be behind now: the next change re-runs the query.
        this.#rerun = true;
        this.#publish({ status: 'error', rows: this.#current.rows, error: asError(error) });
      }
      this.#settle();
    }
  }

  /** Runs the whole query; for a patched one, with the columns that place each row. */
  async #runFull(): Promise<R[]> {
    const plan = this.#plan;
    if (!plan) return this.#source.execute();
    const raw = await this.#execute(plan.full);
    this.#entries = raw.map((row) => plan.split<R>(row));
    return this.#entries.map((entry) => entry.row);
  }

  /** Reads the changed rows again and merges them in; undefined when the result did not change. */
  async #patch(ids: ReadonlySet<string>): Promise<R[] | undefined> {
    const plan = this.#plan as PatchPlan;
    if (ids.size === 0) return undefined;
    const raw = await this.#execute(plan.reread([...ids]));
    const merged = plan.merge(
      this.#entries,
      ids,
      raw.map((row) => plan.split<R>(row)),
    );
    if (merged === undefined) return undefined;
    this.#entries = merged;
    return merged.map((entry) => entry.row);
  }

  async #execute(node: RootOperationNode): Promise<Record<string, unknown>[]> {
    const { executor } = this.#context;
    const queryId = createQueryId();
    const compiled = executor.compileQuery(executor.transformQuery(node, queryId), queryId);
    const result = await executor.executeQuery<Record<string, unknown>>(compiled);
    return result.rows;
  }

  #publish(result: LiveResult<R>): void {
    this.#current = Object.freeze(result) as LiveResult<R>;
    for (const listener of [...this.#listeners]) {
      try {
        listener(this.#current);
      } catch (error) {
        console.error('Carburetor: a live query listener threw', error);
      }
    }
  }

  /** Answers the `result()` calls the current result covers. */
  #settle(): void {
    const due = this.#waiters.filter((w) => w.generation <= this.#applied);
    if (due.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.generation > this.#applied);
    for (const waiter of due) this.#settled().then(waiter.resolve, waiter.reject);
  }
}

function closedError(): CarburetorClientError {
  return new CarburetorClientError(
    'closed',
    'This live query is closed; create a new one with client.live(query).',
  );
}

/** The operation tree of a kysely query, else that of its compiled form. */
function nodeOf(source: LiveSource<unknown>): OperationNode {
  const builder = source as Partial<{ toOperationNode(): OperationNode }>;
  return typeof builder.toOperationNode === 'function'
    ? builder.toOperationNode()
    : source.compile().query;
}

/**
 * The patch plan of a kysely query built on the replica's `db`. Not for
 * other objects (their `execute` may do more than run the SQL) nor for a
 * query whose plugins differ from the replica's (its SQL would differ).
 */
function planOf(source: LiveSource<unknown>, context: LiveContext): PatchPlan | undefined {
  const builder = source as Partial<{ toOperationNode(): OperationNode }>;
  if (typeof builder.toOperationNode !== 'function') return undefined;
  const node = builder.toOperationNode();
  const plan = PatchPlan.of(node, context.bySqlName);
  if (!plan) return undefined;
  const { executor } = context;
  const queryId = createQueryId();
  const ours = executor.compileQuery(
    executor.transformQuery(node as RootOperationNode, queryId),
    queryId,
  );
  return ours.sql === source.compile().sql ? plan : undefined;
}
