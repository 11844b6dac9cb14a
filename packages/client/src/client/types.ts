import type {
  AnySyncConfig,
  ClientDatabase,
  GroupName,
  GroupTableKey,
  InferInsert,
  InferNames,
  InferRow,
  InferUpdate,
  RowErrorCode,
  TableKey,
  WritableTableKey,
} from '@carburetor/core';
import type { Kysely, Selectable, SelectQueryBuilder } from 'kysely';
import type { SqliteValue } from '../driver/sqlite-driver.ts';
import type { CursorInfo } from '../inspect/cursor-list.ts';
import type { PendingRow } from '../inspect/pending-rows.ts';
import type { ReadOnlyResult } from '../inspect/read-only-query.ts';
import type { SyncActivity } from '../inspect/sync-activity.ts';
import type { LiveOptions, LiveQuery, LiveSource } from '../live/live-query.ts';
import type { LocalRejectionCode } from '../replica/rejections.ts';
import type { ChangeEvent } from '../sync/change-emitter.ts';
import type { StartOptions } from '../sync/sync-scheduler.ts';
import type { SyncStatus } from '../sync/sync-status-store.ts';

/** Table keys of any of the groups `G` (distributes over a union of groups). */
export type ClientTableKey<C extends AnySyncConfig, G extends GroupName<C>> =
  G extends GroupName<C> ? GroupTableKey<C, G> : never;

/** Table keys writable in at least one of the groups `G`. */
export type ClientWritableKey<C extends AnySyncConfig, G extends GroupName<C>> =
  G extends GroupName<C> ? WritableTableKey<C, G> : never;

/** The replica's SQL name of table `K`, as a key of `ClientDatabase<C>`. */
export type ReplicaTableName<C extends AnySyncConfig, K extends TableKey<C>> = InferNames<
  C,
  K
>['sqlTable'] &
  keyof ClientDatabase<C> &
  string;

/**
 * The generated write helpers of the tables `K`: `insertPhoneBook(row)`,
 * `insertPhoneBooks(rows)` (many rows, one transaction), `updatePhoneBook(id,
 * changes)`, `deletePhoneBook(id)`. A table whose plural is its key gets
 * both inserts under one name: a row or an array of rows.
 */
export type WriteHelpers<C extends AnySyncConfig, K extends TableKey<C>> = {
  [P in K as InferNames<C, P>['insert']]: (row: InferInsert<C, P>) => Promise<InferRow<C, P>>;
} & {
  [P in K as InferNames<C, P>['insertMany']]: (
    rows: readonly InferInsert<C, P>[],
  ) => Promise<InferRow<C, P>[]>;
} & {
  [P in K as InferNames<C, P>['update']]: (
    id: string,
    changes: InferUpdate<C, P>,
  ) => Promise<InferRow<C, P>>;
} & {
  [P in K as InferNames<C, P>['delete']]: (id: string) => Promise<void>;
};

/** The query of a table's rows that are not deleted, every column selected. */
export type ActiveQuery<C extends AnySyncConfig, K extends TableKey<C>> = SelectQueryBuilder<
  ClientDatabase<C>,
  ReplicaTableName<C, K>,
  Selectable<ClientDatabase<C>[ReplicaTableName<C, K>]>
>;

/** The generated query helpers of the tables `K`: `activePhoneBooks()`. */
export type ActiveHelpers<C extends AnySyncConfig, K extends TableKey<C>> = {
  [P in K as InferNames<C, P>['active']]: () => ActiveQuery<C, P>;
};

/**
 * A row the server refused or the client quarantined, as `client.rejected()`
 * lists it.
 */
export interface RejectedRow<C extends AnySyncConfig = AnySyncConfig> {
  /** The table key (`'phone_book'`). */
  table: TableKey<C>;
  id: string;
  /**
   * The server's per-row code (never `clock_skew`: those are corrected and
   * sent again), or the client's own ({@link LocalRejectionCode}:
   * `corrupt_local_row`, `undecodable_download`, `upload_refused`).
   */
  code: Exclude<RowErrorCode, 'clock_skew'> | LocalRejectionCode;
  message: string;
}

/** The methods every sync client has, whatever its config. */
export interface SyncClientBase<C extends AnySyncConfig, G extends GroupName<C>> {
  /** Kysely over the replica, for reads (values come back in the app's types). */
  readonly db: Kysely<ClientDatabase<C>>;
  /** This replica's client id (stamped on its writes). */
  readonly clientId: string;
  /** The groups this client syncs, in order. */
  readonly groups: readonly G[];
  /**
   * Runs `fn` as one SQLite transaction with one write time for all its
   * writes: all of them land, or none. Inside, write through `tx` only (the
   * client's own methods would wait for the transaction to end).
   *
   * @example
   * ```ts
   * await client.transaction(async (tx) => {
   *   const row = await tx.insertPhoneBook({ owner_id: me, name: 'Ada', phone_number: '1' });
   *   await tx.updatePhoneBook(other.id, { note: `see ${row.id}` });
   * });
   * ```
   */
  transaction<T>(fn: (tx: WriteHelpers<C, ClientWritableKey<C, G>>) => Promise<T>): Promise<T>;
  /**
   * Uploads then downloads each group, in order, until caught up. One sync
   * runs at a time: a call during a sync joins it. Local writes keep working.
   * Fails with `sync_failed` (network, server) without losing local writes.
   *
   * @example
   * ```ts
   * window.addEventListener('online', () => void client.sync().catch(console.warn));
   * ```
   */
  sync(): Promise<void>;
  /**
   * Rows the server refused, and rows the client quarantined itself (a row
   * it cannot read, encode, decode or get the server to take: codes
   * `corrupt_local_row`, `undecodable_download`, `upload_refused`). They are
   * not sent again until changed or discarded; the rest of the queue and
   * every download go on.
   *
   * @example
   * ```ts
   * for (const row of await client.rejected()) console.warn(row.table, row.id, row.code, row.message);
   * ```
   */
  rejected(): Promise<RejectedRow<C>[]>;
  /**
   * Drops the local changes of a rejected or quarantined row (or of a row
   * whose local writes fail with `corrupt_row`): the row is removed locally
   * and its table's cursors reset, so the next `sync()` brings back the
   * server's version (or nothing, for a refused insert). `not_rejected` for
   * other ids.
   *
   * @example
   * ```ts
   * await client.discard(row.id);
   * await client.sync();
   * ```
   */
  discard(id: string): Promise<void>;
  /**
   * The upload queue: rows with local changes the server has not
   * acknowledged (rejected rows excluded), oldest first, with their dirty
   * columns and when each was written. At most 500 rows per table.
   *
   * @example
   * ```ts
   * for (const row of await client.pending()) console.log(row.table, row.id, row.op, row.columns);
   * ```
   */
  pending(): Promise<PendingRow[]>;
  /**
   * Where each (group, table) download stands: the server's opaque cursor
   * (null before the first page) and whether a first or reset download is
   * in progress.
   *
   * @example
   * ```ts
   * const firstSyncs = (await client.cursors()).filter((c) => c.cursor === null || c.resetting);
   * ```
   */
  cursors(): Promise<CursorInfo[]>;
  /**
   * The last 100 sync requests this client made (in a browser, the tab that
   * leads the replica makes them), oldest first: kind, group, rows, bytes,
   * duration, error.
   *
   * @example
   * ```ts
   * const failed = client.recentActivity().filter((a) => a.error !== null);
   * ```
   */
  recentActivity(): readonly SyncActivity[];
  /**
   * Calls `listener` after each sync request; returns the unsubscribe
   * function. While one listens, requests also measure their JSON bytes.
   *
   * @example
   * ```ts
   * const stop = client.onActivity((a) => console.debug(a.kind, a.group, a.rows, a.durationMs));
   * ```
   */
  onActivity(listener: (activity: SyncActivity) => void): () => void;
  /**
   * Runs one SELECT (or WITH … SELECT) on the replica's SQLite tables
   * (their SQL names, raw values), read-only by construction: anything else
   * fails with `invalid_query` and changes nothing. At most 1,000 rows.
   *
   * @example
   * ```ts
   * const { rows } = await client.queryReadOnly('SELECT count(*) AS n FROM phone_books WHERE is_deleted = 0');
   * ```
   */
  queryReadOnly(sql: string, params?: readonly SqliteValue[]): Promise<ReadOnlyResult>;
  /** Wipes the replica's rows, cursors and rejections (sign-out); the client keeps working. */
  reset(): Promise<void>;
  /**
   * Starts syncing in the background: at once, then every `intervalMs`, at
   * once after a lone local write (a burst within `debounceMs` of the last
   * upload goes up together), at once when the device comes back
   * online or the app becomes visible, and after a growing, jittered backoff
   * while syncs fail. One sync at a time; offline, nothing is sent. Errors
   * never escape the loop: they are in `status.lastError`. A no-op when
   * started already.
   *
   * @example
   * ```ts
   * client.start(); // every 30 s, and at once after a lone write
   * client.start({ intervalMs: 10_000, debounceMs: 50, backoff: { baseMs: 500, maxMs: 30_000 } });
   * ```
   */
  start(options?: StartOptions): void;
  /**
   * Stops the background loop and its timers; a sync in flight finishes
   * (the promise resolves once it has, and never rejects). A no-op when
   * stopped.
   *
   * @example
   * ```ts
   * useEffect(() => { client.start(); return () => void client.stop(); }, [client]);
   * ```
   */
  stop(): Promise<void>;
  /**
   * The sync status: a frozen snapshot, replaced by a new object only when
   * something in it changed (fit for `useSyncExternalStore`).
   *
   * @example
   * ```ts
   * const { pendingCount, phase, lastError } = client.status;
   * ```
   */
  readonly status: SyncStatus;
  /**
   * Calls `listener` with the new status after each change; returns the
   * unsubscribe function.
   *
   * @example
   * ```ts
   * const status = useSyncExternalStore(client.subscribe, () => client.status);
   * ```
   */
  subscribe(listener: (status: SyncStatus) => void): () => void;
  /**
   * Resolves once every group has been downloaded to its end at least once
   * (`status.hasSynced`; at once when an earlier session did). It waits: a
   * sync must run (`start()` or `sync()`). Rejects with `closed` when the
   * client closes first.
   *
   * @example
   * ```ts
   * client.start();
   * await client.waitForFirstSync(); // then show the app, not an empty list
   * ```
   */
  waitForFirstSync(): Promise<void>;
  /**
   * Calls `listener` after each committed change of rows: a local write or
   * transaction (`source: 'local'`) or a download page or upload
   * acknowledgement that changed rows (`source: 'sync'`), with exactly the
   * table keys whose rows changed. A sync that changes nothing sends no
   * event. Returns the unsubscribe function.
   *
   * @example
   * ```ts
   * client.onChange(({ tables }) => {
   *   if (tables.includes('phone_book')) void refreshContacts();
   * });
   * ```
   */
  onChange(listener: (event: SyncChangeEvent<C>) => void): () => void;
  /**
   * A live query over the replica: `query` (a kysely select on `db`, e.g. an
   * `active…()` query refined) runs when the live query is first subscribed,
   * then again, or patched with just the changed rows, after each change
   * event naming a table it reads, until `close()`. Its `current` result is
   * a snapshot fit for `useSyncExternalStore`; `result()` waits until the
   * changes announced so far are in it.
   *
   * @example
   * ```ts
   * const contacts = client.live(client.activePhoneBooks().orderBy('name'));
   * const stop = contacts.subscribe(({ status, rows }) => status === 'success' && render(rows));
   * await client.insertPhoneBook({ owner_id: me, name: 'Ada', phone_number: '1' });
   * (await contacts.result()).some((c) => c.name === 'Ada'); // true
   * stop();
   * contacts.close();
   * ```
   */
  live<R>(query: LiveSource<R>, options?: LiveOptions<TableKey<C>>): LiveQuery<R>;
  /**
   * Stops the background loop, waits for a running sync and closes the
   * replica's driver.
   */
  close(): Promise<void>;
}

/** A change event of a client for config `C`: {@link ChangeEvent} with typed table keys. */
export interface SyncChangeEvent<C extends AnySyncConfig = AnySyncConfig> extends ChangeEvent {
  readonly tables: readonly TableKey<C>[];
  readonly ids?: { readonly [K in TableKey<C>]?: readonly string[] };
}

/**
 * A sync client for config `C` and groups `G`: the base methods, write
 * helpers for the tables writable in one of the groups, and `active…()`
 * queries for every table of the groups.
 *
 * @example
 * ```ts
 * type Client = SyncClient<typeof config, 'private_contacts' | 'directory'>;
 * const rows = await client.activePhoneBooks().where('published', '=', true).execute();
 * ```
 */
export type SyncClient<C extends AnySyncConfig, G extends GroupName<C>> = SyncClientBase<C, G> &
  WriteHelpers<C, ClientWritableKey<C, G>> &
  ActiveHelpers<C, ClientTableKey<C, G>>;
