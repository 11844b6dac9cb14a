import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSyncRouter } from '@carburetor/server';
import { createTRPCClient, httpLink } from '@trpc/client';
import { type AnyRouter, initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { CarburetorClientError } from '../errors.ts';
import { memoryDriver } from '../node/index.ts';
import { SyncScheduler } from '../sync/sync-scheduler.ts';
import { phoneBookConfig } from './fixtures.ts';
import { startSyncServer } from './sync-harness.ts';

// The mistakes a user makes wiring a client to a server, each over real HTTP,
// and what the client tells them (issue 20, "setup mistakes name the fix").

const harness = await startSyncServer('client-setup-mistakes');
const servers: Server[] = [];
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await harness.stop();
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An app's own tRPC router with the sync router mounted where `mount` says, over real HTTP. */
async function serveApp(mount: (sync: AnyRouter) => Record<string, AnyRouter>): Promise<string> {
  const t = initTRPC.context<{ userId: string }>().create();
  const sync = createSyncRouter(phoneBookConfig, {
    db: harness.db,
    context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
  });
  const appRouter = t.router({
    whoami: t.procedure.query(({ ctx }) => ctx.userId),
    ...mount(sync),
  });
  return listen(createHTTPServer({ router: appRouter, createContext: () => ({ userId: 'u1' }) }));
}

/** A server that answers every request the same, not as tRPC: a site, a proxy, a wrong port. */
async function serveText(status: number, contentType: string | undefined, body: string) {
  let requests = 0;
  const url = await listen(
    createServer((_req, res) => {
      requests++;
      res.writeHead(status, contentType ? { 'content-type': contentType } : {});
      res.end(body);
    }),
  );
  return { url, requests: () => requests };
}

async function client(
  connection: { url: string; path?: string } | { trpcClient: object; path?: string },
  groups: readonly ('private_contacts' | 'directory')[] = ['directory'],
) {
  const driver = memoryDriver();
  const sync = await createSyncClient(phoneBookConfig, {
    driver,
    groups,
    realtime: false,
    ...connection,
  } as Parameters<typeof createSyncClient<typeof phoneBookConfig, typeof groups>>[1]);
  closers.push(async () => {
    await sync.close();
    await driver.close();
  });
  return sync;
}

/** The error `client.sync()` rejects with, checked to be the client's own. */
async function syncError(sync: { sync(): Promise<void> }): Promise<CarburetorClientError> {
  const error = await sync.sync().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CarburetorClientError);
  return error as CarburetorClientError;
}

const html404 =
  '<!DOCTYPE html><html><head><title>404: This page could not be found.</title></head><body>Not Found</body></html>';

describe('a client `path` that matches nothing', () => {
  test('issue-20: path "synk" while mounted at "sync" names the path tried and the one that answers', async () => {
    const url = await serveApp((sync) => ({ sync }));
    const sync = await client({ url, path: 'synk' });
    const error = await syncError(sync);
    expect(error.code).toBe('sync_not_found');
    expect(error.message).toBe(
      `No sync router answers at path "synk" of "${url}": the server has no procedure "synk.directory.download". It answers at path "sync": pass \`path: 'sync'\` to createSyncClient (the key under which createSyncRouter is mounted in your app router).`,
    );
    expect(error.message).not.toContain('No procedure found');
    // The status shows it too, and the right path works.
    expect(sync.status.lastError?.message).toBe(error.message);
    const fixed = await client({ url, path: 'sync' });
    await expect(fixed.sync()).resolves.toBeUndefined();
  });

  test('a path given for a router served directly says to leave `path` out', async () => {
    const sync = await client({ url: harness.url, path: 'sync' });
    const error = await syncError(sync);
    expect(error.code).toBe('sync_not_found');
    expect(error.message).toContain(
      'It answers at the root (no `path`): leave `path` out (the sync router is served directly, not mounted in an app router).',
    );
  });

  test('a mount the probes do not find: says what was tried and how to fix it', async () => {
    const url = await serveApp((sync) => ({ api: initTRPC.create().router({ carb: sync }) }));
    const sync = await client({ url, path: 'carburetor' });
    const error = await syncError(sync);
    expect(error.code).toBe('sync_not_found');
    expect(error.message).toBe(
      `No sync router answers at path "carburetor" of "${url}": the server has no procedure "carburetor.directory.download". Nor is it at "directory.download", "sync.directory.download". Pass as \`path\` the key under which createSyncRouter is mounted in your app router (\`router({ sync: createSyncRouter(config, ...) })\` is \`path: 'sync'\`), check that \`url\` is that router's endpoint, and that the server's config has the sync group "directory".`,
    );
    // A nested mount is a dotted path.
    await expect((await client({ url, path: 'api.carb' })).sync()).resolves.toBeUndefined();
  });

  test("the app's own typed trpcClient with a wrong path gets the same message", async () => {
    const url = await serveApp((sync) => ({ sync }));
    const trpcClient = createTRPCClient<AnyRouter>({ links: [httpLink({ url })] });
    const sync = await client({ trpcClient, path: 'synk' }, ['private_contacts']);
    const error = await syncError(sync);
    expect(error.code).toBe('sync_not_found');
    // No `url` to name: the message names the procedure and the fix.
    expect(error.message).toMatch(
      /^No sync router answers at path "synk": the server has no procedure "synk\.private_contacts\.(upload|download)"\. It answers at path "sync": pass `path: 'sync'`/,
    );
  });
});

describe('a `url` that does not answer tRPC', () => {
  test('issue-20: an HTML 404 page names the URL, the status and the content type', async () => {
    const site = await serveText(404, 'text/html; charset=utf-8', html404);
    const sync = await client({ url: site.url, path: 'sync' });
    const error = await syncError(sync);
    expect(error.code).toBe('sync_not_found');
    expect(error.message).toBe(
      `\`url\` "${site.url}" did not answer as a tRPC endpoint: ${site.url}/sync.directory.download answered 404 text/html; charset=utf-8 with "<!DOCTYPE html><html><head><title>404: This page could not be found.</title></head><body>Not Found</body></html>". It must be the endpoint your tRPC handler serves (its \`endpoint\`, e.g. "http://localhost:3000/api/trpc" for app/api/trpc/[trpc]/route.ts), not the site's address or another API.`,
    );
    expect(error.message).not.toContain('JSON input');
  });

  test('an empty body says so (today: "Unexpected end of JSON input")', async () => {
    const empty = await serveText(200, undefined, '');
    const error = await syncError(await client({ url: empty.url }));
    expect(error.code).toBe('sync_not_found');
    expect(error.message).toContain(
      `did not answer as a tRPC endpoint: ${empty.url}/directory.download answered 200 (no content type) with an empty body.`,
    );
  });

  test('plain text from another server (a wrong port) names what came back', async () => {
    const other = await serveText(404, 'text/plain', 'Cannot POST /sync.directory.download');
    const error = await syncError(await client({ url: other.url, path: 'sync' }));
    expect(error.code).toBe('sync_not_found');
    expect(error.message).toContain(
      'answered 404 text/plain with "Cannot POST /sync.directory.download"',
    );
  });

  test('JSON that is not tRPC, through an app trpcClient, names the status and content type', async () => {
    const api = await serveText(404, 'application/json', '{"message":"Route not found"}');
    const trpcClient = createTRPCClient<AnyRouter>({ links: [httpLink({ url: api.url })] });
    const error = await syncError(await client({ trpcClient, path: 'sync' }));
    expect(error.code).toBe('sync_not_found');
    expect(error.message).toBe(
      'The endpoint of the `trpcClient`\'s links did not answer as a tRPC endpoint: sync.directory.download answered 404 application/json something that is not tRPC (Unable to transform response from server). It must be the endpoint your tRPC handler serves (its `endpoint`, e.g. "http://localhost:3000/api/trpc" for app/api/trpc/[trpc]/route.ts), not the site\'s address or another API.',
    );
  });

  test('HTML through an app trpcClient (no response to read) still says it is not tRPC', async () => {
    const site = await serveText(404, 'text/html', html404);
    const trpcClient = createTRPCClient<AnyRouter>({ links: [httpLink({ url: site.url })] });
    const error = await syncError(await client({ trpcClient, path: 'sync' }));
    expect(error.code).toBe('sync_not_found');
    expect(error.message).toMatch(
      /^The endpoint of the `trpcClient`'s links did not answer as a tRPC endpoint: sync\.directory\.download answered something that is not tRPC \(.*JSON.*\)\./,
    );
  });

  test('a 502 page from a proxy is a failure the loop retries, not a setup mistake', async () => {
    const proxy = await serveText(502, 'text/html', '<html><body>502 Bad Gateway</body></html>');
    const error = await syncError(await client({ url: proxy.url }));
    expect(error.code).toBe('sync_failed');
    expect(error.message).toBe(
      `The download of sync group "directory" failed: ${proxy.url}/directory.download answered 502 text/html, not tRPC (a proxy or the host failing?): "<html><body>502 Bad Gateway</body></html>". Local writes are kept; sync again later.`,
    );
  });
});

describe('an unknown group', () => {
  test('issue-20: fails at createSyncClient, before any request, naming the group and the config groups', async () => {
    const counting = await serveText(200, 'application/json', '{}');
    const error = await createSyncClient(phoneBookConfig, {
      driver: memoryDriver(),
      url: counting.url,
      path: 'sync',
      groups: ['nope' as never],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CarburetorClientError);
    expect(error).toMatchObject({
      code: 'invalid_options',
      message: `Unknown sync group "nope"; the config's groups are: private_contacts, directory.`,
    });
    expect(counting.requests()).toBe(0);
  });
});

describe('the background loop meets a setup mistake', () => {
  test('the status shows it, the loop keeps running, and it does not retry quickly', async () => {
    const url = await serveApp((sync) => ({ sync }));
    const site = await serveText(404, 'text/html', html404);
    const wrongPath = await client({ url, path: 'synk' });
    const wrongUrl = await client({ url: site.url, path: 'sync' });
    const backoff = { baseMs: 20, maxMs: 60_000 };
    for (const sync of [wrongPath, wrongUrl]) {
      const seen: (string | undefined)[] = [];
      sync.subscribe((status) => seen.push(status.lastError?.message));
      sync.start({ backoff });
      await expect.poll(() => sync.status.lastError, { timeout: 5_000 }).not.toBeNull();
      expect(sync.status.lastError?.message).toMatch(/^(No sync router answers|`url` ")/);
      expect(sync.status.lastError?.code).toBe('sync_not_found');
      expect(sync.status).toMatchObject({ running: true, phase: 'idle' });
    }
    const before = site.requests();
    // With a 20 ms base, a transient failure would have been retried several times by now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(site.requests()).toBe(before);
    await wrongPath.stop();
    await wrongUrl.stop();
  });

  test('the scheduler waits the longest backoff after sync_not_found, the first step after sync_failed', async () => {
    const waits: number[] = [];
    let error: Error = new CarburetorClientError('sync_not_found', 'wrong path');
    const scheduler = new SyncScheduler({
      run: () => Promise.reject(error),
      hasPendingWrites: () => false,
      online: { isOnline: () => true, subscribe: () => () => undefined },
      visibility: { subscribe: () => () => undefined },
      random: () => 0,
      clock: {
        now: () => 0,
        setTimeout: (_fire, ms) => {
          waits.push(ms);
          return waits.length;
        },
        clearTimeout: () => undefined,
      },
    });
    scheduler.start({ backoff: { baseMs: 1_000, maxMs: 60_000 } });
    await expect(scheduler.sync()).rejects.toBe(error);
    expect(waits.at(-1)).toBe(60_000);
    error = new CarburetorClientError('sync_failed', 'no answer');
    // A later transient failure backs off by the usual steps again (failures: 2, so 2 s, jittered down to half).
    await expect(scheduler.sync()).rejects.toBe(error);
    expect(waits.at(-1)).toBe(1_000);
    scheduler.stop();
  });
});

describe('realtime meets a setup mistake', () => {
  test("a wrong path or url: the subscription's error names the fix, once per longest backoff, and warns once", async () => {
    const url = await serveApp((sync) => ({ sync }));
    const site = await serveText(404, 'text/html', html404);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      for (const connection of [
        { url, path: 'synk' },
        { url: site.url, path: 'sync' },
      ]) {
        const heard: Error[] = [];
        const driver = memoryDriver();
        const backoff = { baseMs: 20, maxMs: 60_000 };
        const listening = await createSyncClient(phoneBookConfig, {
          driver,
          groups: ['directory'],
          ...connection,
          realtime: { onError: (error) => heard.push(error), backoff },
        });
        const quiet = await createSyncClient(phoneBookConfig, {
          driver: memoryDriver(),
          groups: ['directory'],
          ...connection,
          realtime: { backoff },
        });
        closers.push(
          () => listening.close(),
          () => quiet.close(),
          () => driver.close(),
        );
        listening.start({ backoff });
        quiet.start({ backoff });
        await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(1);
        await expect.poll(() => listening.status.lastError, { timeout: 5_000 }).not.toBeNull();
        // The same words as the status: the mistake and its fix, not "Non-200 status code (404)".
        expect(heard[0]).toBeInstanceOf(CarburetorClientError);
        expect(heard[0]).toMatchObject({
          code: 'sync_not_found',
          message: listening.status.lastError?.message,
        });
        expect(heard[0]?.message).toMatch(
          connection.url === url
            ? /^No sync router answers at path "synk" .* pass `path: 'sync'`/
            : /^`url` ".*" did not answer as a tRPC endpoint/,
        );
        // Without onError, one warning says it; with a 20 ms base a transient failure would have been retried many times.
        await expect
          .poll(
            () =>
              warn.mock.calls.filter(([text]) => String(text).includes(heard[0]?.message ?? ''))
                .length,
          )
          .toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(heard).toHaveLength(1);
        expect(listening.status.live).toBe(false);
        await listening.stop();
        await quiet.stop();
      }
      expect(
        warn.mock.calls.every(([text]) =>
          String(text).startsWith(
            'Carburetor: realtime cannot subscribe (retried every 60000 ms). ',
          ),
        ),
      ).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });

  test('the right path and url: realtime goes live and no error is heard', async () => {
    const url = await serveApp((sync) => ({ sync }));
    const heard: Error[] = [];
    const driver = memoryDriver();
    const sync = await createSyncClient(phoneBookConfig, {
      driver,
      groups: ['directory'],
      url,
      path: 'sync',
      realtime: { onError: (error) => heard.push(error) },
    });
    closers.push(
      () => sync.close(),
      () => driver.close(),
    );
    sync.start();
    await expect.poll(() => sync.status.live, { timeout: 10_000 }).toBe(true);
    expect(heard).toEqual([]);
    await sync.stop();
  });
});
