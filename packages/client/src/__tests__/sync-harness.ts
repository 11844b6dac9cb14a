import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AnySyncConfig, GroupName } from '@carburetor/core';
import {
  type ChangeHub,
  createChangeHub,
  createPgKysely,
  createSyncRouter,
  migrateServer,
} from '@carburetor/server';
import { createTestDatabase } from '@carburetor/testing';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import { type Kysely, sql } from 'kysely';
import {
  createSyncClient,
  SYNC_INTERNALS,
  type SyncInternals,
} from '../client/create-sync-client.ts';
import type { OnlineManager } from '../environment/online-manager.ts';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
import type { RealtimeOptions } from '../sync/realtime-feed.ts';
import { phoneBookConfig } from './fixtures.ts';

/** Holds one kind of request (download or upload) at a point until released. */
export class Gate {
  armed = false;
  #hit: (() => void) | undefined;
  #release: (() => void) | undefined;
  #hitPromise: Promise<void> | undefined;

  /** Arms the gate; the promise resolves when a request reaches it. */
  arm(): Promise<void> {
    this.armed = true;
    this.#hitPromise = new Promise((resolve) => {
      this.#hit = resolve;
    });
    return this.#hitPromise;
  }

  /** Called by the fetch wrapper: waits here while armed. */
  async pass(): Promise<void> {
    if (!this.armed) return;
    this.armed = false;
    const released = new Promise<void>((resolve) => {
      this.#release = resolve;
    });
    this.#hit?.();
    await released;
  }

  release(): void {
    this.#release?.();
  }
}

export interface ClientGates {
  /** Pauses an upload before it reaches the server. */
  beforeUpload: Gate;
  /** Pauses an upload's answer after the server applied it. */
  afterUpload: Gate;
  /** Counts requests, by procedure. */
  calls: { upload: number; download: number };
}

/**
 * One server instance: the sync router (realtime on) with its own change hub
 * and pool (so its own LISTEN connection, as in another process), over real
 * HTTP. `down()` closes the HTTP server and cuts every connection (SSE
 * included); `up()` listens again on the same port.
 */
export interface SyncServerInstance {
  readonly url: string;
  readonly hub: ChangeHub;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function serveInstance(
  databaseUrl: string,
  config: AnySyncConfig,
): Promise<SyncServerInstance> {
  // biome-ignore lint/suspicious/noExplicitAny: any schema
  const db: Kysely<any> = createPgKysely(databaseUrl);
  const hub = createChangeHub(config, {
    db,
    onError: () => undefined,
    retryDelayMs: { initial: 50, max: 500 },
    idleTimeoutMs: 200,
  });
  const router = createSyncRouter(config, {
    db,
    changes: hub,
    context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
  });
  let server: Server | undefined;
  let port = 0;
  const up = async () => {
    const next = createHTTPServer({
      router,
      createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
    });
    await new Promise<void>((resolve) => next.listen(port, '127.0.0.1', resolve));
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  const down = async () => {
    const current = server;
    server = undefined;
    if (!current) return;
    const closed = new Promise((resolve) => current.close(resolve));
    current.closeAllConnections();
    await closed;
  };
  await up();
  return {
    url: `http://127.0.0.1:${port}`,
    hub,
    up,
    down,
    close: async () => {
      await down();
      await hub.close();
      await db.destroy();
    },
  };
}

/**
 * One real PostgreSQL database, the sync router over real HTTP, and clients
 * with their own replicas; for the phone book config unless given another.
 */
export async function startSyncServer<C extends AnySyncConfig = typeof phoneBookConfig>(
  label: string,
  config: C = phoneBookConfig as unknown as C,
) {
  const database = await createTestDatabase(label);
  // biome-ignore lint/suspicious/noExplicitAny: raw SQL checks on any table
  const db: Kysely<any> = createPgKysely(database.url);
  await migrateServer(db, config);
  const main = await serveInstance(database.url, config);
  const instances: SyncServerInstance[] = [main];
  const url = main.url;
  /** Another server instance on the same database (its own router, hub and HTTP server). */
  async function instance(): Promise<SyncServerInstance> {
    const added = await serveInstance(database.url, config);
    instances.push(added);
    return added;
  }
  const drivers: MemoryDriver[] = [];
  const closers: (() => Promise<void>)[] = [];

  async function client(
    user: string,
    options: {
      groups?: GroupName<C>[];
      now?: () => number;
      clientId?: string;
      /** A named memory store: reopened when a client of that name came before. */
      store?: string;
      pageSize?: number;
      /** The server instance to talk to (default: the first). */
      server?: SyncServerInstance;
      /** `false`: no realtime subscriptions; or its options. */
      realtime?: boolean | RealtimeOptions;
      onlineManager?: OnlineManager;
      requestTimeoutMs?: number;
      /** Whose replica this is (`createSyncClient`'s `identity`). */
      identity?: string;
      identityChange?: 'refuse' | 'discard';
    } = {},
  ) {
    const gates: ClientGates = {
      beforeUpload: new Gate(),
      afterUpload: new Gate(),
      calls: { upload: 0, download: 0 },
    };
    const gatedFetch: typeof fetch = async (input, init) => {
      const path = String(input instanceof Request ? input.url : input);
      const upload = path.includes('.upload');
      gates.calls[upload ? 'upload' : 'download']++;
      if (upload) await gates.beforeUpload.pass();
      const response = await fetch(input, init);
      if (upload) await gates.afterUpload.pass();
      return response;
    };
    const serverUrl = options.server?.url ?? url;
    const trpcClient = createTRPCClient<AnyRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({
            url: serverUrl,
            EventSource,
            eventSourceOptions: {
              fetch: (input, init) =>
                fetch(input, { ...init, headers: { ...init.headers, 'x-user': user } }),
            },
          }),
          false: httpLink({ url: serverUrl, headers: { 'x-user': user }, fetch: gatedFetch }),
        }),
      ],
    });
    const driver = memoryDriver(options.store ? { name: options.store } : {});
    drivers.push(driver);
    const sync = await createSyncClient(config, {
      driver,
      trpcClient,
      groups: options.groups ?? [Object.keys(config.groups)[0] as GroupName<C>],
      ...(options.clientId ? { clientId: options.clientId } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
      ...(options.realtime === undefined ? {} : { realtime: options.realtime }),
      ...(options.onlineManager ? { onlineManager: options.onlineManager } : {}),
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.identity !== undefined ? { identity: options.identity } : {}),
      ...(options.identityChange ? { identityChange: options.identityChange } : {}),
    });
    closers.push(() => sync.close());
    const internals = (sync as unknown as { [SYNC_INTERNALS]: SyncInternals })[SYNC_INTERNALS];
    return { sync, driver, gates, internals };
  }

  /** The server's row (values and metadata), or undefined. */
  async function serverRow(id: string) {
    const { rows } = await sql<
      Record<string, unknown>
    >`select * from phone_books where id = ${id}`.execute(db);
    return rows[0];
  }

  async function stop() {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
    for (const d of drivers.splice(0)) await d.close().catch(() => undefined);
    for (const added of instances.splice(0)) await added.close();
    await db.destroy();
    await database.drop();
  }

  return { url, db, main, instance, client, serverRow, stop };
}

/** A replica row as stored: values, parsed metadata, dirty flag. */
export async function localRow(driver: MemoryDriver, id: string) {
  const { rows } = await driver.execute('SELECT * FROM phone_books WHERE id = ?', [id]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    ...row,
    meta: JSON.parse(String(row['sync_metadata'])) as Record<
      string,
      { t: number; c: string; d?: 1 }
    >,
  } as Record<string, unknown> & { meta: Record<string, { t: number; c: string; d?: 1 }> };
}

/** Columns marked dirty in a replica row's metadata. */
export function dirtyOf(row: { meta: Record<string, { d?: 1 }> } | undefined): string[] {
  return Object.keys(row?.meta ?? {})
    .filter((k) => row?.meta[k]?.d === 1)
    .sort();
}
