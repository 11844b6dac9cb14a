import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROTOCOL_VERSION, type UploadRequest } from '@carburetor/core';
import {
  createTRPCClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClientError,
} from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import type { ChangePoke } from '../realtime/change-hub.ts';
import type { SyncRouter } from '../router/sync-router.ts';
import type { ContactsConfig } from './download-support.ts';

/** Test-only helpers for the realtime tests: servers, SSE subscribers, uploads. */

export interface TestContext {
  user: string | undefined;
}

function userOf(header: string | string[] | null | undefined): string | undefined {
  return typeof header === 'string' ? header : undefined;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** A router on tRPC's Node standalone adapter; the user comes from `x-user`. */
export async function serveStandalone(
  router: AnyTRPCRouter,
): Promise<{ url: string; server: Server }> {
  const server = createHTTPServer({
    router,
    createContext: ({ req }): TestContext => ({ user: userOf(req.headers['x-user']) }),
  });
  return { url: await listen(server), server };
}

/**
 * A router behind a Next.js-style route handler (fetch adapter, GET and
 * POST), bridged to Node's http with a streamed body and the request's
 * signal aborted when the client goes away, as Next does.
 */
export async function serveRouteHandler(
  router: AnyTRPCRouter,
  endpoint = '/api/sync',
): Promise<{ url: string; server: Server }> {
  const handler = (req: Request) =>
    fetchRequestHandler({
      endpoint,
      req,
      router,
      createContext: (): TestContext => ({ user: userOf(req.headers.get('x-user')) }),
    });
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const aborted = new AbortController();
    res.on('close', () => aborted.abort());
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks),
      signal: aborted.signal,
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) {
      res.end();
      return;
    }
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(value);
      }
    } catch {
      // The client went away mid-stream.
    }
    res.end();
  });
  return { url: `${await listen(server)}${endpoint}`, server };
}

/** A tRPC client like an app's: SSE for subscriptions, plain HTTP for the rest. */
export function syncClient(url: string, user?: string) {
  const headers: Record<string, string> = user ? { 'x-user': user } : {};
  return createTRPCClient<SyncRouter<ContactsConfig>>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
          },
        }),
        false: httpLink({ url, headers }),
      }),
    ],
  });
}

/** A subscriber to `<group>.changes` over real HTTP, recording its pokes with their arrival times. */
export interface TestSubscriber {
  readonly pokes: { tables: readonly string[]; at: number }[];
  readonly errors: TRPCClientError<AnyTRPCRouter>[];
  /** Resolves when it holds at least `count` pokes; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

export function subscribeOverHttp(
  url: string,
  group: 'mine' | 'directory' | 'everything',
  user?: string,
): TestSubscriber {
  const pokes: TestSubscriber['pokes'] = [];
  const errors: TestSubscriber['errors'] = [];
  const subscription = syncClient(url, user)[group].changes.subscribe(undefined, {
    onData: (poke: ChangePoke) => pokes.push({ tables: poke.tables, at: performance.now() }),
    onError: (error) => errors.push(error as TRPCClientError<AnyTRPCRouter>),
  });
  return {
    pokes,
    errors,
    waitFor: (count, timeoutMs = 5_000) =>
      until(
        () => pokes.length >= count || errors.length > 0,
        timeoutMs,
        `${count} pokes (got ${pokes.length})`,
      ),
    close: () => subscription.unsubscribe(),
  };
}

/** Polls `done` every few ms until it holds; rejects after `timeoutMs`. */
export async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An upload inserting one contact. */
export function insertContact(id: string, owner: string, name = `Contact ${id}`): UploadRequest {
  const t = Date.now() * 1000;
  return {
    protocol: PROTOCOL_VERSION,
    clientId: 'device-rt',
    tables: {
      contact: [
        {
          op: 'insert',
          id,
          columns: { owner_id: { value: owner, t }, name: { value: name, t } },
        },
      ],
    },
  };
}
