import {
  type AnySyncConfig,
  type ClientDatabase,
  configIdentity,
  type GroupName,
  type ResolvedTable,
} from '@carburetor/core';
import { Kysely } from 'kysely';
import { AsyncMutex } from '../driver/async-mutex.ts';
import { SqliteDriverDialect } from '../driver/sqlite-dialect.ts';
import { onlineManager } from '../environment/online-manager.ts';
import { visibilityManager } from '../environment/visibility-manager.ts';
import { CarburetorClientError } from '../errors.ts';
import { listCursors } from '../inspect/cursor-list.ts';
import { listPendingRows } from '../inspect/pending-rows.ts';
import { queryReadOnly } from '../inspect/read-only-query.ts';
import { ActivityLog, recordActivity } from '../inspect/sync-activity.ts';
import { createLive } from '../live/create-live.ts';
import { ReplicaDecodePlugin } from '../replica/decode-plugin.ts';
import { discardRow } from '../replica/discard.ts';
import { claimReplica } from '../replica/identity.ts';
import { listRejected } from '../replica/rejected-list.ts';
import { Replica } from '../replica/replica.ts';
import { wipeReplica } from '../replica/wipe.ts';
import { ClientState } from '../sync/client-state.ts';
import { readProgress } from '../sync/download.ts';
import { RealtimeFeed } from '../sync/realtime-feed.ts';
import type { SharedReplicaHooks } from '../sync/shared-replica.ts';
import { SyncRunner } from '../sync/sync-runner.ts';
import { SyncScheduler } from '../sync/sync-scheduler.ts';
import { createTransport } from '../sync/transport.ts';
import { createActiveQueries, createWriteHelpers } from './generated-helpers.ts';
import { checkOptions, type SyncClientOptions } from './sync-client-options.ts';
import { SYNC_INTERNALS, type SyncInternals } from './sync-internals.ts';
import type { SyncClient, SyncClientBase } from './types.ts';

export type {
  inferSyncPath,
  RealtimeTransportOptions,
  SyncClientOptions,
} from './sync-client-options.ts';
export { SYNC_INTERNALS, type SyncInternals } from './sync-internals.ts';

/**
 * Opens a replica and returns its sync client: typed write helpers and
 * queries generated from the config, and `sync()` against the server's sync
 * router. Migrates the replica first (idempotent).
 *
 * The engine's parts, wired here: {@link SyncScheduler} decides what runs
 * next, {@link SyncRunner} runs it, {@link ClientState} owns the status and
 * change events.
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
  T extends object = object,
>(config: C, options: SyncClientOptions<C, G, T>): Promise<SyncClient<C, G[number]>> {
  const { groups, realtime, identity, identityChange } = checkOptions(config, options);
  const { driver } = options;
  const activity = new ActivityLog();
  const transport = recordActivity(
    createTransport({
      ...options,
      configIdentity: configIdentity(config),
      EventSource: realtime?.EventSource,
    } as Parameters<typeof createTransport>[0]),
    activity,
  );
  const replica = await Replica.open(config, driver, {
    clientId: options.clientId,
    now: options.now,
  });
  // Before anything reads the replica: another identity's rows are never shown or uploaded.
  if (identity !== undefined) await claimReplica(driver, config, identity, identityChange);
  const db = new Kysely<ClientDatabase<C>>({
    dialect: new SqliteDriverDialect(driver),
    plugins: [new ReplicaDecodePlugin(config)],
  });
  const shared = driver as SharedReplicaHooks;
  const online = options.onlineManager ?? onlineManager;
  const lifecycle = new AsyncMutex();
  let closed = false;
  const closedError = () =>
    new CarburetorClientError('closed', 'This sync client is closed; create a new one.');
  const ensureOpen = () => {
    if (closed) throw closedError();
  };
  /** What `close()` fails: the `waitForFirstSync()` promises still waiting. */
  const closing = new Set<() => void>();

  const state = await ClientState.open({
    driver,
    online,
    writableTables: groups.writableTables,
    groups: groups.names,
    readProgress: (ex) => readProgress(ex, groups.list),
    tableKeys: Object.keys(config.tables),
    changeChannel: options.changeChannel ?? shared.changeChannel,
    otherClientWrote: () => scheduler.localWrite(),
  });
  const runner = new SyncRunner({
    replica,
    transport,
    groups,
    pageSize: options.pageSize,
    state,
    lifecycle,
    pushing: (group) => feed?.pushing(group) ?? false,
  });
  const feed = realtime
    ? new RealtimeFeed({
        transport,
        groups: groups.names,
        options: realtime,
        poked: (group, tables, push, lsn) => {
          const download = () => {
            // A standby serves that download once it has replayed the change.
            if (lsn !== undefined) runner.announced(group, lsn);
            scheduler.poke(group);
          };
          if (!push) return download();
          // Pushed rows apply where they continue the cursor; the rest is downloaded.
          runner.applyPush(groups.named(group), tables, push).then((left) => {
            if (left.length > 0) download();
          }, download);
        },
        liveChanged: (live) => state.live(live),
      })
    : undefined;
  const scheduler: SyncScheduler = new SyncScheduler({
    run: (pass) => runner.run(pass),
    hasPendingWrites: () => state.status.pendingCount > 0,
    online,
    visibility: options.visibilityManager ?? visibilityManager,
    leadership: options.leadership ?? shared.leadership,
    runningChanged: (running) => state.running(running),
    activeChanged: (active) => feed?.setActive(active),
  });
  const writes = createWriteHelpers({
    replica,
    writableTables: groups.writableTables,
    ensureOpen,
    committed: (effects) => {
      if (state.localCommitted(effects)) scheduler.localWrite();
    },
  });
  const allTables = Object.values(config.tables) as ResolvedTable[];

  const lives = createLive(config, db, (listener) => state.onChange(listener));
  const base: Omit<SyncClientBase<C, G[number]>, 'status'> = {
    db,
    clientId: replica.clientId,
    groups: groups.names as G[number][],
    transaction: writes.transaction as SyncClientBase<C, G[number]>['transaction'],
    // Not async: a call during a sync returns that sync's own promise.
    sync: () => (closed ? Promise.reject(closedError()) : scheduler.sync()),
    start: (startOptions) => {
      ensureOpen();
      scheduler.start(startOptions);
    },
    stop: () => {
      scheduler.stop();
      return scheduler.idle();
    },
    subscribe: (listener) => state.subscribe(listener),
    waitForFirstSync: () =>
      new Promise<void>((resolve, reject) => {
        if (closed) return reject(closedError());
        if (state.status.hasSynced) return resolve();
        const fail = () => {
          stop();
          reject(closedError());
        };
        const stop = state.subscribe((status) => {
          if (!status.hasSynced) return;
          stop();
          closing.delete(fail);
          resolve();
        });
        closing.add(fail);
      }),
    onChange: (listener) => state.onChange(listener as Parameters<ClientState['onChange']>[0]),
    live: lives.live,
    rejected: () => listRejected<C>(driver),
    pending: () => listPendingRows(driver, groups.writableTables),
    cursors: () => listCursors(driver, groups.list),
    recentActivity: () => activity.recent(),
    onActivity: (listener) => activity.subscribe(listener),
    queryReadOnly: (sql, params) => queryReadOnly(driver, sql, params),
    discard: (id) =>
      lifecycle.run(async () => {
        const changed = await discardRow(replica, config, groups.list, id);
        await state.recount();
        state.announce(changed, 'local', new Map([...changed].map((key) => [key, new Set([id])])));
      }),
    reset: () =>
      lifecycle.run(async () => {
        ensureOpen();
        await wipeReplica(replica, allTables);
        state.forgetProgress();
        await state.recount();
        state.announce(
          groups.tables.map((t) => t.key),
          'local',
        );
      }),
    close: async () => {
      if (closed) return;
      scheduler.stop();
      closed = true;
      for (const fail of closing) fail();
      lives.closeAll();
      const stateClosed = state.close(); // stops listening now; awaits a recount in progress
      await scheduler.idle();
      await stateClosed;
      await lifecycle.run(async () => undefined).catch(() => undefined);
      await db.destroy();
    },
  };
  const client = Object.assign(writes.helpers, createActiveQueries(groups.list, db), base);
  Object.defineProperty(client, 'status', { get: () => state.status, enumerable: true });
  const internals: SyncInternals = {
    replica,
    upload: (name) => runner.upload(groups.named(name)),
    download: (name) => runner.download(groups.named(name)),
    applyPush: (name, tables, push) => runner.applyPush(groups.named(name), tables, push),
  };
  Object.defineProperty(client, SYNC_INTERNALS, { value: internals });
  return client as unknown as SyncClient<C, G[number]>;
}
