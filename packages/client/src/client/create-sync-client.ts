import type {
  AnySyncConfig,
  ClientDatabase,
  GroupName,
  ResolvedGroup,
  ResolvedTable,
} from '@carburetor/core';
import { Kysely, sql } from 'kysely';
import { AsyncMutex } from '../driver/async-mutex.ts';
import { SqliteDriverDialect } from '../driver/sqlite-dialect.ts';
import type { SqliteDriver, SqliteExecutor, SqliteStatement } from '../driver/sqlite-driver.ts';
import { type OnlineManager, onlineManager } from '../environment/online-manager.ts';
import { type VisibilityManager, visibilityManager } from '../environment/visibility-manager.ts';
import { CarburetorClientError } from '../errors.ts';
import { ReplicaDecodePlugin } from '../replica/decode-plugin.ts';
import { claimReplica, type IdentityChange } from '../replica/identity.ts';
import { forgetRow } from '../replica/rejections.ts';
import { Replica } from '../replica/replica.ts';
import { type CorruptRow, readRows } from '../replica/row-codec.ts';
import { wipeStatements } from '../replica/wipe.ts';
import { CURSOR_TABLE, REJECTED_TABLE } from '../schema/names.ts';
import { ChangeEmitter, type ChangeListener } from '../sync/change-emitter.ts';
import { downloadGroup } from '../sync/download.ts';
import { countPending } from '../sync/pending-counts.ts';
import { RealtimeFeed, type RealtimeOptions } from '../sync/realtime-feed.ts';
import type { ChangeChannel, SharedReplicaHooks, SyncLeadership } from '../sync/shared-replica.ts';
import { type StartOptions, type SyncKind, SyncLoop } from '../sync/sync-loop.ts';
import type { SyncObserver } from '../sync/sync-observer.ts';
import {
  NOT_STARTED_STATUS,
  type SyncStatusListener,
  SyncStatusStore,
} from '../sync/sync-status-store.ts';
import {
  createTransport,
  type EventSourceConstructor,
  type SyncTransport,
  serverRefusalOf,
} from '../sync/transport.ts';
import { uploadGroup } from '../sync/upload.ts';
import {
  deleteRow,
  insertRow,
  noWriteEffects,
  updateRow,
  type WriteEffects,
} from '../writes/local-writes.ts';
import type { RejectedRow, SyncClient } from './types.ts';

/** Options of {@link createSyncClient}. */
export type SyncClientOptions<C extends AnySyncConfig, G extends readonly GroupName<C>[]> = {
  /** The replica's SQLite driver (`memoryDriver()` in Node, the OPFS worker driver in browsers). */
  driver: SqliteDriver;
  /** The sync groups this client syncs, in order; a table in several uploads through the first where it is writable. */
  groups: G;
  /** This replica's client id (a-z, 0-9, '-', '_'). Generated and kept in the replica when omitted. */
  clientId?: string;
  /**
   * Whose replica this is, e.g. the signed-in user's id. The replica
   * remembers it, and opened for another identity it never shows or uploads
   * the previous one's rows: if they left nothing unsent, the replica is
   * emptied first (their rows are on the server); if they did, this fails
   * with `replica_owned` and changes nothing, so their work waits for them.
   * Best: one replica per identity, e.g. `opfsDriver({ name: "app-" + userId })`.
   * Omitted: the replica is not checked (a single-user app).
   */
  identity?: string;
  /**
   * `'discard'`: open a replica of another identity even when it left
   * unsent rows, dropping them. Default `'refuse'`.
   */
  identityChange?: IdentityChange;
  /** The wall clock in milliseconds (tests inject a wrong one). Defaults to `Date.now`. */
  now?: () => number;
  /** Rows per table per download page (the server caps it). */
  pageSize?: number;
  /** Whether the device is online, for the background loop; defaults to the shared {@link onlineManager}. */
  onlineManager?: OnlineManager;
  /** Whether the app is visible, for the background loop; defaults to the shared {@link visibilityManager}. */
  visibilityManager?: VisibilityManager;
  /**
   * When several tabs share the replica: only the leader runs the background
   * loop. Defaults to the driver's `leadership` (`opfsDriver` has one: the
   * tab that owns the database leads); absent, this client always leads.
   */
  leadership?: SyncLeadership;
  /**
   * Carries change events to and from the other clients of a shared replica,
   * so `onChange` also fires for their commits. Defaults to the driver's
   * `changeChannel` (`opfsDriver` has one, over a BroadcastChannel).
   */
  changeChannel?: ChangeChannel;
  /**
   * Realtime: while the loop runs (started, online, and, for a shared
   * replica, in the leading tab), subscribe to each group's `changes` (SSE)
   * and download when the server says rows changed; the interval stays as
   * the fallback. On by default; `false` turns it off. With `trpcClient`,
   * the app's client must route subscriptions to `httpSubscriptionLink`
   * (`splitLink`).
   */
  realtime?: boolean | (RealtimeOptions & RealtimeTransportOptions);
  /**
   * A download or upload without an answer after this long fails (the sync
   * records the error and the loop retries), so a request the network or the
   * browser never answers cannot hold the sync forever. Default 60 000 ms.
   */
  requestTimeoutMs?: number;
} & (
  | {
      /** The tRPC endpoint serving the sync router, e.g. `https://app.example/api/trpc`. */
      url: string;
      trpcClient?: undefined;
      /** Where the sync router is mounted in the app router (`'sync'` → `sync.<group>.download`). */
      path?: string;
    }
  | {
      /** The app's own tRPC client (proxy or untyped), reused with its links and headers. */
      trpcClient: object;
      url?: undefined;
      /** Where the sync router is mounted in the app router (`'sync'` → `sync.<group>.download`). */
      path?: string;
    }
);

/**
 * Realtime options that concern how the client connects.
 *
 * @example
 * ```ts
 * import { EventSource } from 'eventsource';
 * const client = await createSyncClient(config, {
 *   driver, url, groups: ['directory'],
 *   realtime: { EventSource } satisfies RealtimeTransportOptions,
 * });
 * ```
 */
export interface RealtimeTransportOptions {
  /**
   * With `url`: the EventSource for subscriptions. Default
   * `globalThis.EventSource` (browsers, Node 22+), else the `eventsource`
   * package's (loaded on first use).
   */
  EventSource?: EventSourceConstructor;
}

/** Test hook: the engine's parts, reachable from tests only (not exported by the package). */
export const SYNC_INTERNALS: unique symbol = Symbol('carburetor.syncInternals');

/** What {@link SYNC_INTERNALS} holds. */
export interface SyncInternals {
  replica: Replica;
  upload(group: string): Promise<void>;
  download(group: string): Promise<void>;
}

function resolveGroups(config: AnySyncConfig, names: readonly string[]): ResolvedGroup[] {
  if (!Array.isArray(names) || names.length === 0) {
    throw new CarburetorClientError(
      'invalid_options',
      `createSyncClient needs groups: the sync groups to sync, e.g. ['${Object.keys(config.groups)[0] ?? 'group'}'].`,
    );
  }
  const seen = new Set<string>();
  return names.map((name) => {
    const group = (config.groups as Record<string, ResolvedGroup>)[name];
    if (!group) {
      throw new CarburetorClientError(
        'invalid_options',
        `Unknown sync group "${name}"; the config's groups are: ${Object.keys(config.groups).join(', ')}.`,
      );
    }
    if (seen.has(name)) {
      throw new CarburetorClientError('invalid_options', `Sync group "${name}" is listed twice.`);
    }
    seen.add(name);
    return group;
  });
}

/** For each table writable in one of the groups: the first group (in order) where it is. */
function uploadGroupOf(groups: readonly ResolvedGroup[]): Map<ResolvedTable, ResolvedGroup> {
  const out = new Map<ResolvedTable, ResolvedGroup>();
  for (const group of groups) {
    for (const entry of group.tables) {
      if (!entry.readOnly && !out.has(entry.table)) out.set(entry.table, group);
    }
  }
  return out;
}

/**
 * Opens a replica and returns its sync client: typed write helpers and
 * queries generated from the config, and `sync()` against the server's sync
 * router. Migrates the replica first (idempotent).
 *
 * @example
 * ```ts
 * const client = await createSyncClient(config, {
 *   driver: memoryDriver({ name: 'replica' }),
 *   url: 'http://localhost:3000/api/trpc',
 *   path: 'sync',
 *   groups: ['private_contacts', 'directory'],
 * });
 * const contact = await client.insertPhoneBook({ owner_id: me, name: 'Ada', phone_number: '1' });
 * await client.updatePhoneBook(contact.id, { note: null });
 * const rows = await client.activePhoneBooks().orderBy('name').execute();
 * await client.sync();
 * ```
 */
export async function createSyncClient<
  C extends AnySyncConfig,
  const G extends readonly GroupName<C>[],
>(config: C, options: SyncClientOptions<C, G>): Promise<SyncClient<C, G[number]>> {
  if (!options || typeof options !== 'object' || !options.driver) {
    throw new CarburetorClientError(
      'invalid_options',
      'createSyncClient needs { driver, url | trpcClient, groups }.',
    );
  }
  const groups = resolveGroups(config, options.groups);
  const timeout = options.requestTimeoutMs;
  if (
    timeout !== undefined &&
    (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)
  ) {
    throw new CarburetorClientError(
      'invalid_options',
      `createSyncClient option requestTimeoutMs must be a finite number of milliseconds > 0; got ${JSON.stringify(timeout)}.`,
    );
  }
  const realtime =
    options.realtime === false
      ? undefined
      : options.realtime === true || options.realtime === undefined
        ? {}
        : options.realtime;
  const transport: SyncTransport = createTransport({
    ...options,
    EventSource: realtime?.EventSource,
  } as Parameters<typeof createTransport>[0]);
  const { identity, identityChange = 'refuse' } = options;
  if (identity !== undefined && (typeof identity !== 'string' || identity === '')) {
    throw new CarburetorClientError(
      'invalid_options',
      `createSyncClient option identity must be a non-empty string (e.g. the user's id); got ${JSON.stringify(identity)}.`,
    );
  }
  if (identityChange !== 'refuse' && identityChange !== 'discard') {
    throw new CarburetorClientError(
      'invalid_options',
      `createSyncClient option identityChange must be 'refuse' or 'discard'; got ${JSON.stringify(identityChange)}.`,
    );
  }
  const replica = await Replica.open(config, options.driver, {
    clientId: options.clientId,
    now: options.now,
  });
  // Before anything reads the replica: another identity's rows are never shown or uploaded.
  if (identity !== undefined) await claimReplica(options.driver, config, identity, identityChange);
  const db = new Kysely<ClientDatabase<C>>({
    dialect: new SqliteDriverDialect(options.driver),
    plugins: [new ReplicaDecodePlugin(config)],
  });
  const uploadVia = uploadGroupOf(groups);
  const writable = [...uploadVia.keys()];
  const lifecycle = new AsyncMutex();
  let running: Promise<void> | undefined;
  let closed = false;

  const online = options.onlineManager ?? onlineManager;
  const visibility = options.visibilityManager ?? visibilityManager;
  const changes = new ChangeEmitter(Object.keys(config.tables));
  const shared = options.driver as SharedReplicaHooks;
  const leadership = options.leadership ?? shared.leadership;
  const changeChannel = options.changeChannel ?? shared.changeChannel;
  const status = new SyncStatusStore({
    ...NOT_STARTED_STATUS,
    online: online.isOnline(),
    ...(await options.driver.exclusive((ex) => countPending(ex, writable))),
  });
  const unsubscribeOnline = online.subscribe((isOnline) => status.update({ online: isOnline }));
  status.update({ online: online.isOnline() });
  let downloadPoked: () => Promise<void> = () => Promise.resolve();
  const loop = new SyncLoop({
    sync: () => (client['sync'] as () => Promise<void>)(),
    online,
    visibility,
    download: () => downloadPoked(),
    runningChanged: (isRunning) => status.update({ running: isRunning }),
    activeChanged: (active) => feed?.setActive(active),
    leadership,
  });
  // Groups the server poked since their last download.
  const poked = new Set<string>();
  const feed = realtime
    ? new RealtimeFeed({
        transport,
        groups: groups.map((g) => g.name),
        options: realtime,
        poked: (group) => {
          poked.add(group);
          loop.remoteChange();
        },
        liveChanged: (live) => status.update({ live }),
      })
    : undefined;

  /** Recounts pending and rejected rows, under the driver's lock so no write slips between. */
  const refreshCounts = () =>
    options.driver.exclusive(async (ex) => status.update(await countPending(ex, writable)));

  /** Tells this client's listeners and, through the change channel, the other tabs'. */
  const announce = (tables: Iterable<string>, source: 'local' | 'sync') => {
    const keys = [...tables];
    changes.emit(keys, source);
    if (keys.length > 0) changeChannel?.publish({ tables: keys, source });
  };
  // Another tab committed: its rows are in the shared replica already. The
  // leader syncs its local writes soon; every tab recounts its pending rows
  // (one recount at a time, and one more if events came during it).
  let recount: Promise<void> | undefined;
  let recountAgain = false;
  const recountSoon = () => {
    if (recount) {
      recountAgain = true;
      return;
    }
    recount = refreshCounts()
      .catch(() => undefined)
      .finally(() => {
        recount = undefined;
        if (recountAgain && !closed) {
          recountAgain = false;
          recountSoon();
        }
      });
  };
  const unsubscribeChannel = changeChannel?.subscribe((event) => {
    if (closed) return;
    changes.emit(event.tables, event.source);
    if (event.source === 'local') loop.localWrite();
    recountSoon();
  });

  const observer: SyncObserver = {
    pageApplied: (changed, delivered) => {
      if (delivered > 0) {
        status.update({ downloadedInSync: status.current.downloadedInSync + delivered });
      }
      announce(changed, 'sync');
    },
    answerApplied: async (changed) => {
      announce(changed, 'sync');
      await refreshCounts();
    },
  };

  /** Runs local writes in one transaction; status and events follow its commit. */
  const localWrite = <T>(fn: (ex: SqliteExecutor, effects: WriteEffects) => Promise<T>) => {
    const effects = noWriteEffects();
    return replica.transaction(
      (ex) => fn(ex, effects),
      () => {
        if (effects.tables.size === 0) return;
        const { pendingCount, rejectedCount } = status.current;
        status.update({
          pendingCount: pendingCount + effects.pending,
          rejectedCount: rejectedCount + effects.rejected,
        });
        announce(effects.tables, 'local');
        loop.localWrite();
      },
    );
  };

  const closedError = () =>
    new CarburetorClientError('closed', 'This sync client is closed; create a new one.');
  const open = () => {
    if (closed) throw closedError();
  };
  const tablesOf = (group: ResolvedGroup) =>
    [...uploadVia].filter(([, via]) => via === group).map(([table]) => table);
  const groupNamed = (name: string) => {
    const group = groups.find((g) => g.name === name);
    if (!group)
      throw new CarburetorClientError(
        'invalid_options',
        `This client does not sync group "${name}".`,
      );
    return group;
  };

  const client: Record<string | symbol, unknown> = {};

  type WriteStep = <T>(
    fn: (ex: SqliteExecutor, t: ReturnType<Replica['stamp']>, effects: WriteEffects) => Promise<T>,
  ) => Promise<T>;
  const writeHelpers = (target: Record<string, unknown>, run: WriteStep) => {
    for (const table of uploadVia.keys()) {
      target[table.names.insert] = (row: unknown) =>
        run((ex, stamp, effects) => insertRow(ex, table, row, stamp, replica.now(), effects));
      target[table.names.update] = (id: unknown, patch: unknown) =>
        run((ex, stamp, effects) => updateRow(ex, table, id, patch, stamp, effects));
      target[table.names.delete] = (id: unknown) =>
        run((ex, stamp, effects) => deleteRow(ex, table, id, stamp, effects));
    }
  };

  // Each helper call is one transaction with its own write time.
  writeHelpers(client, (fn) =>
    closed
      ? Promise.reject(closedError())
      : localWrite((ex, effects) => fn(ex, replica.stamp(), effects)),
  );

  for (const group of groups) {
    for (const { table } of group.tables) {
      client[table.names.active] ??= () =>
        db
          .selectFrom(table.sqlName as never)
          .selectAll()
          .where(sql<boolean>`${sql.ref(table.isDeleted)} = 0`);
    }
  }

  const doSync = async (kind: SyncKind) => {
    status.update({ downloadedInSync: 0 });
    // A full sync downloads every group, so it answers every poke so far.
    const targets = kind === 'sync' ? groups : groups.filter((g) => poked.has(g.name));
    for (const group of targets) poked.delete(group.name);
    // The first failure the server answered: the other steps still run, then the sync fails with it.
    let failure: unknown;
    const step = async (run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        // No answer at all (network, timeout, a crashed replica): the rest would fare no better.
        if (serverRefusalOf(error) === undefined) throw error;
        failure ??= error;
      }
    };
    try {
      for (const group of targets) {
        if (kind === 'sync') {
          status.update({ phase: 'uploading' });
          await step(() => uploadGroup(replica, transport, group, tablesOf(group), observer));
        }
        status.update({ phase: 'downloading' });
        await step(() =>
          downloadGroup(replica, transport, group, groups, options.pageSize, observer),
        );
      }
      if (failure !== undefined) throw failure;
    } finally {
      await refreshCounts().catch(() => undefined);
    }
  };

  const iso = () => new Date(replica.now()).toISOString();

  /** One sync (or download-only pass), start to end: the loop hears of it, the status shows it. */
  const runSync = async (kind: SyncKind): Promise<void> => {
    loop.syncStarted(kind);
    try {
      await lifecycle.run(() => doSync(kind));
    } catch (error) {
      running = undefined;
      const message = error instanceof Error ? error.message : String(error);
      status.update({ phase: 'idle', lastError: Object.freeze({ message, at: iso() }) });
      loop.syncSettled(false, kind);
      throw error;
    }
    running = undefined;
    status.update({ phase: 'idle', lastSyncedAt: iso(), lastError: null });
    loop.syncSettled(true, kind);
  };
  let runningKind: SyncKind = 'sync';
  // An app's sync() asked for during a download-only pass: it runs right after.
  let queuedSync: Promise<void> | undefined;
  /** The loop's answer to pokes: download the poked groups, or sync when local writes wait. */
  downloadPoked = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) return running;
    if (status.current.pendingCount > 0) return (client['sync'] as () => Promise<void>)();
    if (poked.size === 0) return Promise.resolve();
    runningKind = 'download';
    running = runSync('download');
    return running;
  };

  /** Keys of the tables of this client's groups whose row `id` cannot be read. */
  const corruptIn = async (ex: SqliteExecutor, id: string): Promise<string[]> => {
    const keys: string[] = [];
    const tables = new Set(groups.flatMap((g) => g.tables.map((t) => t.table)));
    for (const table of tables) {
      const corrupt = new Map<string, CorruptRow>();
      await readRows(ex, table, [id], corrupt);
      if (corrupt.has(id)) keys.push(table.key);
    }
    return keys;
  };

  Object.assign(client, {
    db,
    clientId: replica.clientId,
    groups: groups.map((g) => g.name),
    transaction: <T>(fn: (tx: Record<string, unknown>) => Promise<T>): Promise<T> => {
      if (closed) return Promise.reject(closedError());
      return localWrite(async (ex, effects) => {
        const stamp = replica.stamp();
        const tx: Record<string, unknown> = {};
        writeHelpers(tx, (inner) => inner(ex, stamp, effects));
        return fn(tx);
      });
    },
    sync: (): Promise<void> => {
      if (closed) return Promise.reject(closedError());
      if (running && runningKind === 'download') {
        queuedSync ??= running
          .catch(() => undefined)
          .then(() => {
            queuedSync = undefined;
            return (client['sync'] as () => Promise<void>)();
          });
        return queuedSync;
      }
      if (!running) {
        runningKind = 'sync';
        running = runSync('sync');
      }
      return running;
    },
    start: (startOptions?: StartOptions): void => {
      open();
      loop.start(startOptions);
    },
    stop: (): Promise<void> => {
      loop.stop();
      return (queuedSync ?? running ?? Promise.resolve()).then(
        () => undefined,
        () => undefined,
      );
    },
    subscribe: (listener: SyncStatusListener): (() => void) => status.subscribe(listener),
    onChange: (listener: ChangeListener): (() => void) => changes.subscribe(listener),
    rejected: async (): Promise<RejectedRow[]> => {
      const result = await options.driver.execute(
        `SELECT table_key, id, code, message FROM ${REJECTED_TABLE} ORDER BY rejected_at, table_key, id`,
      );
      return result.rows.map((r) => ({
        table: String(r['table_key']),
        id: String(r['id']),
        code: String(r['code']) as RejectedRow['code'],
        message: String(r['message']),
      }));
    },
    discard: (id: string): Promise<void> =>
      lifecycle.run(async () => {
        const tables = new Set<string>();
        await replica.transaction(async (ex) => {
          const found = await ex.execute(`SELECT table_key FROM ${REJECTED_TABLE} WHERE id = ?`, [
            id,
          ]);
          const keys = found.rows.map((row) => String(row['table_key']));
          // A row no sync has read yet may be damaged too: local writes to it point here.
          if (keys.length === 0 && typeof id === 'string') keys.push(...(await corruptIn(ex, id)));
          if (keys.length === 0) {
            throw new CarburetorClientError(
              'not_rejected',
              `Row ${JSON.stringify(id)} is not rejected; discard only reverts rows that client.rejected() lists.`,
            );
          }
          const statements: SqliteStatement[] = [];
          for (const key of keys) {
            const table = (config.tables as Record<string, ResolvedTable>)[key];
            if (!table) continue;
            tables.add(table.key);
            // The local stamps are newer than the server's, so a merge would keep the
            // refused values: drop the row, and download its table again from scratch.
            statements.push(...forgetRow(table, id));
            for (const group of groups) {
              if (group.table[table.key]) {
                statements.push({
                  sql: `DELETE FROM ${CURSOR_TABLE} WHERE group_name = ? AND table_key = ?`,
                  params: [group.name, table.key],
                });
              }
            }
          }
          await ex.executeBatch(statements);
        });
        await refreshCounts();
        announce(tables, 'local');
      }),
    reset: (): Promise<void> =>
      lifecycle.run(async () => {
        open();
        await replica.transaction((ex) =>
          ex.executeBatch(wipeStatements(Object.values(config.tables) as ResolvedTable[])),
        );
        replica.scopes.clear();
        await refreshCounts();
        announce(
          groups.flatMap((g) => g.tables.map((t) => t.table.key)),
          'local',
        );
      }),
    close: async (): Promise<void> => {
      if (closed) return;
      loop.stop();
      closed = true;
      unsubscribeOnline();
      unsubscribeChannel?.();
      await running?.catch(() => undefined);
      await queuedSync?.catch(() => undefined);
      await recount;
      await lifecycle.run(async () => undefined).catch(() => undefined);
      await db.destroy();
    },
  });
  Object.defineProperty(client, 'status', { get: () => status.current, enumerable: true });

  const internals: SyncInternals = {
    replica,
    upload: (name) => {
      const group = groupNamed(name);
      return uploadGroup(replica, transport, group, tablesOf(group), observer);
    },
    download: (name) =>
      downloadGroup(replica, transport, groupNamed(name), groups, options.pageSize, observer),
  };
  Object.defineProperty(client, SYNC_INTERNALS, { value: internals });

  return client as unknown as SyncClient<C, G[number]>;
}
