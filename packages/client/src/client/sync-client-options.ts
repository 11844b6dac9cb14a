import type { AnySyncConfig, GroupName } from '@carburetor/core';
import type { TRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import type { SqliteDriver } from '../driver/sqlite-driver.ts';
import type { OnlineManager } from '../environment/online-manager.ts';
import type { VisibilityManager } from '../environment/visibility-manager.ts';
import { CarburetorClientError } from '../errors.ts';
import type { IdentityChange } from '../replica/identity.ts';
import { ClientGroups } from '../sync/client-groups.ts';
import type { RealtimeOptions } from '../sync/realtime-feed.ts';
import type { ChangeChannel, SyncLeadership } from '../sync/shared-replica.ts';
import type { EventSourceConstructor } from '../sync/transport.ts';

/**
 * Options of {@link createSyncClient}. `T` is the type of `trpcClient`: a
 * typed client (`createTRPCClient<AppRouter>`) makes `path` one of the
 * places its router mounts the sync router of these groups.
 */
export type SyncClientOptions<
  C extends AnySyncConfig,
  G extends readonly GroupName<C>[],
  T extends object = object,
> = {
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
  /**
   * Rows per table per download page (the server caps it at 10,000). From
   * 2,000 rows a download asks for the next page while it applies one, each
   * of half this size, so the server's work and the replica's overlap; a
   * reload or crash in the middle still costs at most this many rows
   * downloaded again.
   */
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
      trpcClient: T;
      url?: undefined;
      /**
       * Where the sync router is mounted in the app router (`'sync'` →
       * `sync.<group>.download`). With a typed `trpcClient`, only a path
       * where its router mounts the sync router of `groups` type-checks.
       */
      path?: inferSyncPath<T, G[number]>;
    }
);

/** A procedure in a router's record, as opposed to a nested record. */
type ProcedureLike = { _def: { procedure: true } };

/** Whether a router record holds `<group>.download` mutations for every group of `G`. */
type MountsSyncGroups<Rec, G extends string> = [G] extends [keyof Rec]
  ? Rec[G] extends { download: { _def: { type: 'mutation' } } }
    ? true
    : false
  : false;

type JoinPath<K extends string, P> = P extends '' ? K : P extends string ? `${K}.${P}` : never;

/** Dotted paths in a router record, at most `Depth` levels down, where the sync router of `G` is mounted ('' for the record itself). */
type SyncPathsIn<Rec, G extends string, Depth extends unknown[]> =
  | (MountsSyncGroups<Rec, G> extends true ? '' : never)
  | (Depth extends [unknown, ...infer Rest]
      ? {
          [K in keyof Rec & string]: Rec[K] extends ProcedureLike
            ? never
            : Rec[K] extends object
              ? JoinPath<K, SyncPathsIn<Rec[K], G, Rest>>
              : never;
        }[keyof Rec & string]
      : never);

/**
 * The `path` values that reach the sync router of groups `G` through a
 * tRPC client of type `TClient`: with a typed client (`TRPCClient<AppRouter>`),
 * the mounts its router has, four levels deep at most; otherwise any string.
 *
 * @example
 * ```ts
 * const appRouter = router({ sync: createSyncRouter(config, { db }) });
 * type Path = inferSyncPath<TRPCClient<typeof appRouter>, 'directory'>; // 'sync'
 * ```
 */
export type inferSyncPath<TClient, G extends string> =
  TClient extends TRPCClient<infer R extends AnyRouter>
    ? string extends keyof R['_def']['record']
      ? string
      : SyncPathsIn<R['_def']['record'], G, [1, 1, 1, 1]>
    : string;

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
   * `globalThis.EventSource` (browsers; Node behind --experimental-eventsource), else the `eventsource`
   * package's (loaded on first use).
   */
  EventSource?: EventSourceConstructor;
}

/** The options after checking: what the wiring needs beside the raw options. */
export interface CheckedOptions {
  groups: ClientGroups;
  /** Realtime settings, or undefined when turned off. */
  realtime: (RealtimeOptions & RealtimeTransportOptions) | undefined;
  identity: string | undefined;
  identityChange: IdentityChange;
}

/** Refuses what {@link createSyncClient} cannot work with, with a message that says what to pass. */
export function checkOptions(
  config: AnySyncConfig,
  options: SyncClientOptions<AnySyncConfig, readonly string[], object> | undefined,
): CheckedOptions {
  if (!options || typeof options !== 'object' || !options.driver) {
    throw new CarburetorClientError(
      'invalid_options',
      'createSyncClient needs { driver, url | trpcClient, groups }.',
    );
  }
  const groups = new ClientGroups(config, options.groups);
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
  return { groups, realtime, identity, identityChange };
}
