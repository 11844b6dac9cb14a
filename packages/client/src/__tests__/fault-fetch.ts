import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import {
  createSyncClient,
  SYNC_INTERNALS,
  type SyncInternals,
} from '../client/create-sync-client.ts';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
import { phoneBookConfig } from './fixtures.ts';

/** Where a request can be lost or held: before the server sees it, or after it answered. */
export type FaultPoint =
  | 'upload-request'
  | 'upload-response'
  | 'download-request'
  | 'download-response';

/** What a dropped request looks like to the app: fetch's own network failure. */
export class LostOnTheWire extends TypeError {
  constructor(readonly point: FaultPoint) {
    super(`fetch failed (test network dropped the ${point})`);
  }
}

interface Hold {
  reached: () => void;
  released: Promise<void>;
}

/**
 * A flaky network made on purpose: a fetch for tRPC's httpLink that can drop
 * the next request before the server sees it, drop the answer after the
 * server applied it, or hold either until the test releases it.
 */
export class FaultyNetwork {
  readonly calls = { upload: 0, download: 0 };
  /** Faults that fired, in order (tests assert that the planned one happened). */
  readonly fired: FaultPoint[] = [];
  readonly #drop = new Set<FaultPoint>();
  readonly #holds = new Map<FaultPoint, Hold>();

  /** The next request of that kind is lost at that point (once). */
  dropNext(point: FaultPoint): void {
    this.#drop.add(point);
  }

  /**
   * The next request of that kind waits at that point until `release()`;
   * `reached` resolves when it gets there.
   */
  hold(point: FaultPoint): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    this.#holds.set(point, { reached, released });
    return { reached: reachedPromise, release };
  }

  /** Disarms every pending drop and hold (a held request goes on). */
  clear(): void {
    this.#drop.clear();
    this.#holds.clear();
  }

  async #at(point: FaultPoint): Promise<void> {
    const hold = this.#holds.get(point);
    if (hold) {
      this.#holds.delete(point);
      hold.reached();
      await hold.released;
    }
    if (this.#drop.delete(point)) {
      this.fired.push(point);
      throw new LostOnTheWire(point);
    }
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const path = String(input instanceof Request ? input.url : input);
    const kind = path.includes('.upload') ? 'upload' : 'download';
    this.calls[kind]++;
    await this.#at(`${kind}-request`);
    const response = await fetch(input, init);
    // The standalone adapter answers once the procedure's transaction is done:
    // reading the body makes sure the server applied the request.
    const body = await response.arrayBuffer();
    await this.#at(`${kind}-response`);
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

export type Group = 'private_contacts' | 'directory';

/** Options of {@link openFaultyClient}. */
export interface FaultyClientOptions {
  url: string;
  user: string;
  groups: Group[];
  /** The memory store: reopening the same name sees only what was committed. */
  store: string;
  network: FaultyNetwork;
  crashAfterWrites?: number;
  pageSize?: number;
}

/** A sync client over a named memory store, talking through a {@link FaultyNetwork}. */
export async function openFaultyClient(options: FaultyClientOptions) {
  const trpcClient = createTRPCClient<AnyRouter>({
    links: [
      httpLink({
        url: options.url,
        headers: { 'x-user': options.user },
        fetch: options.network.fetch,
      }),
    ],
  });
  const driver: MemoryDriver = memoryDriver({
    name: options.store,
    ...(options.crashAfterWrites === undefined
      ? {}
      : { crashAfterWrites: options.crashAfterWrites }),
  });
  try {
    const sync = await createSyncClient(phoneBookConfig, {
      driver,
      trpcClient,
      groups: options.groups,
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    });
    const internals = (sync as unknown as { [SYNC_INTERNALS]: SyncInternals })[SYNC_INTERNALS];
    return { sync, driver, internals };
  } catch (error) {
    if (!driver.crashed) await driver.close().catch(() => undefined);
    throw Object.assign(error as Error, { driver });
  }
}

export type FaultyClient = Awaited<ReturnType<typeof openFaultyClient>>;

/** The replica's rows of phone_books as stored, with parsed metadata. */
export async function replicaRows(driver: MemoryDriver) {
  const { rows } = await driver.execute('SELECT * FROM phone_books ORDER BY id');
  return rows.map((row) => ({
    id: String(row['id']),
    owner_id: row['owner_id'] as string,
    name: row['name'] as string,
    phone_number: row['phone_number'] as string,
    note: row['note'] as string | null,
    published: Number(row['published']) === 1,
    record_deleted: Number(row['record_deleted']) === 1,
    dirty_flag: row['dirty_flag'] as string | null,
    meta: JSON.parse(String(row['sync_metadata'])) as Record<
      string,
      { t: number; c: string; d?: 1 }
    >,
  }));
}

export type ReplicaRow = Awaited<ReturnType<typeof replicaRows>>[number];
