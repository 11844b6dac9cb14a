// The test page: exposes the browser driver and a sync client to Playwright as `window.carburetor`.
import { type OpfsDriver, type OpfsFallback, opfsDriver } from '@carburetor/client/browser';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { phoneBookConfig } from '../../src/__tests__/fixtures.ts';
import { measureRawInserts } from '../../src/browser/measure-raw-inserts.ts';
import { createSyncClient } from '../../src/client/create-sync-client.ts';
import { createReplicaKysely } from '../../src/driver/sqlite-dialect.ts';
import type { SqliteValue } from '../../src/driver/sqlite-driver.ts';
import type { ChangeEvent } from '../../src/sync/change-emitter.ts';
import type { StartOptions } from '../../src/sync/sync-scheduler.ts';
import { runRestartStep } from './restart-steps.ts';

/** A SQLite value as JSON, so it survives `page.evaluate`. */
export type WireValue = null | number | string | { $bigint: string } | { $bytes: number[] };

function encode(value: SqliteValue): WireValue {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: [...value] };
  return value;
}

function decode(value: WireValue): SqliteValue {
  if (value !== null && typeof value === 'object') {
    return '$bigint' in value ? BigInt(value.$bigint) : new Uint8Array(value.$bytes);
  }
  return value;
}

/** A thrown value as plain data. */
function describeError(error: unknown) {
  return error instanceof Error
    ? {
        name: error.name,
        message: error.message,
        code: (error as { code?: unknown }).code,
        sqliteCode: (error as { sqliteCode?: unknown }).sqliteCode,
        statementIndex: (error as { statementIndex?: unknown }).statementIndex,
      }
    : { name: 'non-error', message: String(error) };
}

/** Opens a sync client of the phone-book config on `opfsDriver({ name })`, served from this origin's `/trpc`. */
async function openClient(options: {
  name: string;
  user: string;
  /** Sent as `x-tab`, so the server can tell who synced. */
  tab: string;
  start?: StartOptions;
  /** Rows per table per download page. */
  pageSize?: number;
  requestTimeoutMs?: number;
  /** Where the replica goes without OPFS (WebKitGTK needs 'indexeddb'). */
  fallback?: OpfsFallback;
  /** Keep every change event in `session.changes` (default); a heap benchmark turns it off. */
  keepChanges?: boolean;
}) {
  const driver = opfsDriver({
    name: options.name,
    ...(options.fallback === undefined ? {} : { fallback: options.fallback }),
  });
  const fetches = { count: 0 };
  const trpcClient = createTRPCClient<AnyRouter>({
    links: [
      httpLink({
        url: `${location.origin}/trpc`,
        headers: { 'x-user': options.user, 'x-tab': options.tab },
        fetch: (input, init) => {
          fetches.count++;
          return fetch(input, init);
        },
      }),
    ],
  });
  const client = await createSyncClient(phoneBookConfig, {
    driver,
    trpcClient,
    groups: ['private_contacts'],
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    ...(options.requestTimeoutMs === undefined
      ? {}
      : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  const changes: ChangeEvent[] = [];
  if (options.keepChanges !== false) client.onChange((event) => changes.push(event));
  const ownership: boolean[] = [];
  driver.onOwnershipChange((owner) => ownership.push(owner));
  if (options.start) client.start(options.start);
  const session = { client, driver, changes, fetches, ownership, user: options.user };
  (globalThis as unknown as { session: Session }).session = session;
  return { owner: driver.isOwner, storage: driver.storage };
}

export interface Session {
  readonly client: Awaited<
    ReturnType<typeof createSyncClient<typeof phoneBookConfig, ['private_contacts']>>
  >;
  readonly driver: OpfsDriver;
  readonly changes: ChangeEvent[];
  readonly fetches: { count: number };
  readonly ownership: boolean[];
  readonly user: string;
}

const api = {
  openClient,
  opfsDriver,
  measureRawInserts,
  createReplicaKysely,
  encode,
  decode,
  encodeRow: (row: Record<string, SqliteValue>) =>
    Object.fromEntries(Object.entries(row).map(([key, value]) => [key, encode(value)])),
  describeError,
  /** How `promise` failed, as plain data, or null when it did not. */
  failure: (promise: Promise<unknown>) => promise.then(() => null, describeError),
};

export type PageApi = typeof api;

(globalThis as unknown as { carburetor: PageApi }).carburetor = api;
document.getElementById('status')!.textContent = 'ready';

const step = new URLSearchParams(location.search).get('step');
if (step) void runRestartStep(step);
