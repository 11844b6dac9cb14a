// The Node side of the browser sync tests: a real PostgreSQL database, the
// Carburetor sync router, and the test page, all behind one HTTP origin.

import type { ServerResponse } from 'node:http';
import { createPgKysely, createSyncRouter, migrateServer } from '@carburetor/server';
import { createTestDatabase } from '@carburetor/testing';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { type Kysely, sql } from 'kysely';
import { phoneBookConfig } from '../src/__tests__/fixtures.ts';
import { startTestSite, type TestSite } from './site.ts';

/** One request the sync router received. */
export interface ServedRequest {
  /** `private_contacts.upload`, ... */
  readonly procedure: string;
  /** The `x-tab` header: which tab sent it. */
  readonly tab: string;
  readonly at: number;
  /**
   * For a download, the entries (rows, tombstones, out-of-scope ids) its
   * answer carried, once sent: what the server paid for, whether or not the
   * page was applied.
   */
  entries?: number;
}

export interface SyncSite extends TestSite {
  /** Every request the sync router got, in order. */
  readonly requests: ServedRequest[];
  /** Names of the user's rows on the server, sorted. */
  serverNames(user: string): Promise<string[]>;
  /** Writes `count` rows of `user` on the server with plain SQL (an outside write). */
  seed(user: string, count: number): Promise<void>;
  /** Holds each download answer this long before the router runs it (0: none). */
  slowDownloadsMs: number;
}

/** Reads the download answer as it is sent, and records its entries in `served`. */
function countEntries(response: ServerResponse, served: ServedRequest): void {
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown) => {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  response.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk);
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  response.end = ((chunk?: unknown, ...rest: unknown[]) => {
    keep(chunk);
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        result?: { data?: { tables?: Record<string, Record<string, unknown[]>> } };
      };
      served.entries = 0;
      for (const page of Object.values(body.result?.data?.tables ?? {})) {
        served.entries +=
          (page['rows']?.length ?? 0) +
          (page['tombstones']?.length ?? 0) +
          (page['outOfScope']?.length ?? 0);
      }
    } catch {
      // An error answer carries no entries.
    }
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
}

/**
 * Serves the test page and, under `/trpc/`, the sync router of the phone-book
 * config over a fresh database (users come from the `x-user` header).
 */
export async function startSyncSite(label: string): Promise<SyncSite> {
  const database = await createTestDatabase(label);
  // biome-ignore lint/suspicious/noExplicitAny: raw SQL checks
  const db: Kysely<any> = createPgKysely(database.url);
  await migrateServer(db, phoneBookConfig);
  const router = createSyncRouter(phoneBookConfig, {
    db,
    context: (ctx: { userId: string }) => ({ userId: ctx.userId }),
  });
  const handler = createHTTPHandler({
    router,
    basePath: '/trpc/',
    createContext: ({ req }) => ({ userId: String(req.headers['x-user'] ?? '') }),
  });
  const requests: ServedRequest[] = [];
  const site = await startTestSite((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/trpc/hold') {
      // An event stream that stays open, like a realtime subscription: it holds one connection.
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      response.write(': open\n\n');
      return;
    }
    const procedure = path.slice('/trpc/'.length);
    const served: ServedRequest = {
      procedure,
      tab: String(request.headers['x-tab'] ?? ''),
      at: Date.now(),
    };
    requests.push(served);
    if (procedure.endsWith('.download')) countEntries(response, served);
    if (result.slowDownloadsMs > 0 && procedure.endsWith('.download')) {
      setTimeout(() => handler(request, response), result.slowDownloadsMs);
    } else {
      handler(request, response);
    }
  });
  const result: SyncSite = {
    ...site,
    requests,
    slowDownloadsMs: 0,
    seed: async (user, count) => {
      await sql`insert into phone_books (id, owner_id, name, phone_number)
        select gen_random_uuid()::text, ${user}, 'seeded ' || lpad(n::text, 6, '0'), n::text
        from generate_series(1, ${count}::int) as n`.execute(db);
    },
    serverNames: async (user) => {
      const { rows } = await sql<{
        name: string;
      }>`select name from phone_books where owner_id = ${user} order by name`.execute(db);
      return rows.map((row) => row.name);
    },
    close: async () => {
      await site.close();
      await db.destroy();
      await database.drop();
    },
  };
  return result;
}
