import {
  type DownloadRequest,
  type DownloadResponse,
  PROTOCOL_VERSION,
  type PushedPage,
  type UploadRequest,
  type UploadResponse,
} from '@carburetor/core';
import {
  createTRPCUntypedClient,
  getUntypedClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCUntypedClient,
} from '@trpc/client';
import { CarburetorClientError } from '../errors.ts';
import { fetchTrpcAnswer, SetupCheck } from './setup-check.ts';

/** The calls the sync engine makes, per group. */
export interface SyncTransport {
  download(group: string, request: DownloadRequest): Promise<DownloadResponse>;
  upload(group: string, request: UploadRequest): Promise<UploadResponse>;
  /**
   * Subscribes to `<group>.changes` (realtime pokes over SSE); returns the
   * function that closes the subscription. After `dropped` the subscription
   * is closed already; nothing is called after the close.
   */
  changes(group: string, observer: ChangesObserver): () => void;
}

/** Hears one `<group>.changes` subscription. */
export interface ChangesObserver {
  /**
   * Rows of these tables changed. The first event comes once the server
   * listens. From a server that pushes (protocol 2), `push` carries the
   * pages it could send (a table without one is to be downloaded). `lsn`:
   * where the primary's WAL stood after the change (from a server reading
   * downloads from standbys), the download's `after`.
   */
  poke(tables: readonly string[], push?: Push, lsn?: string): void;
  /**
   * The subscription failed, broke or ended, and is closed. `fatal`: trying
   * again cannot help (the tRPC client has no link for subscriptions).
   */
  dropped(error: Error, fatal: boolean): void;
}

/** Pages a server pushed with a poke (protocol 2). */
export interface Push {
  readonly pages: Readonly<Record<string, PushedPage>>;
  readonly serverTime: number | undefined;
}

/**
 * An `EventSource` constructor (the browser's, or the `eventsource`
 * package's in Node, where a global one needs --experimental-eventsource).
 *
 * @example
 * ```ts
 * import { EventSource } from 'eventsource';
 * const ctor: EventSourceConstructor = EventSource;
 * ```
 */
export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean },
) => EventSource;

/** How the client reaches the server: a URL, or the app's own tRPC client. */
export type TransportOptions = (
  | { url: string; trpcClient?: undefined; path?: string | undefined }
  | { trpcClient: object; url?: undefined; path?: string | undefined }
) & {
  /** For `url`: the EventSource of realtime subscriptions; default `globalThis.EventSource`, else the `eventsource` package's. */
  EventSource?: EventSourceConstructor | undefined;
  /** A download or upload without an answer after this long fails (and is aborted). Default 60 000 ms. */
  requestTimeoutMs?: number | undefined;
  /**
   * The identity of the client's config (`configIdentity(config)`), sent with
   * every request (protocol 3) so the server serves the tables and columns
   * this build knows.
   */
  configIdentity?: string | undefined;
};

/** Default of {@link TransportOptions.requestTimeoutMs}. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

interface TrpcCalls {
  query(path: string, input?: unknown, opts?: { signal?: AbortSignal }): Promise<unknown>;
  mutation(path: string, input?: unknown, opts?: { signal?: AbortSignal }): Promise<unknown>;
  subscription: TRPCUntypedClient<never>['subscription'];
}

interface BuiltClient {
  client: TrpcCalls;
  /** Resolves once subscriptions can be made (the EventSource is loaded). */
  subscriptionsReady(): Promise<void>;
}

function untypedClient(options: TransportOptions): BuiltClient {
  if (typeof options.url === 'string') {
    const url = options.url;
    let eventSource: EventSourceConstructor | undefined = options.EventSource;
    const subscriptionLinkOptions = {
      url,
      // Read by the link when a subscription starts, after subscriptionsReady() loaded it.
      get EventSource(): EventSourceConstructor | undefined {
        return eventSource;
      },
    };
    return {
      // httpLink, not httpBatchLink, for the rest: sync requests are large and sequential, and POST keeps cursors out of URLs.
      client: createTRPCUntypedClient({
        links: [
          splitLink({
            condition: (op) => op.type === 'subscription',
            true: httpSubscriptionLink(subscriptionLinkOptions),
            false: httpLink({ url, fetch: fetchTrpcAnswer }),
          }),
        ],
      }) as unknown as TrpcCalls,
      subscriptionsReady: async () => {
        // Loaded on demand, so bundles for browsers (which have EventSource) never run it.
        eventSource ??=
          (globalThis as { EventSource?: EventSourceConstructor }).EventSource ??
          ((await import('eventsource')).EventSource as unknown as EventSourceConstructor);
      },
    };
  }
  const given = options.trpcClient;
  const ready = async () => undefined;
  if (given instanceof TRPCUntypedClient) {
    return { client: given as unknown as TrpcCalls, subscriptionsReady: ready };
  }
  const untyped = given ? (getUntypedClient(given as never) as TrpcCalls | undefined) : undefined;
  if (!untyped || typeof untyped.mutation !== 'function') {
    throw new CarburetorClientError(
      'invalid_options',
      'createSyncClient needs `url` (the tRPC endpoint) or `trpcClient` (a client made with createTRPCClient or createTRPCUntypedClient).',
    );
  }
  return { client: untyped, subscriptionsReady: ready };
}

function checkResponse(group: string, what: string, answer: unknown): void {
  const body = answer as { serverTime?: unknown; tables?: unknown } | null;
  if (
    body === null ||
    typeof body !== 'object' ||
    typeof body.serverTime !== 'number' ||
    typeof body.tables !== 'object' ||
    body.tables === null
  ) {
    throw new CarburetorClientError(
      'sync_failed',
      `The server's ${what} answer for group "${group}" is not in the sync protocol's shape; is the sync router mounted at the configured path, on the same Carburetor version?`,
    );
  }
}

/** tRPC's httpLink refuses subscriptions with this; no retry can help. */
const NO_SUBSCRIPTION_LINK =
  /unsupported by `http(Batch)?(Stream)?Link`|only supports subscriptions|no link/i;

function errorOf(cause: unknown): Error {
  return cause instanceof Error ? cause : new Error(String(cause));
}

/**
 * Builds the transport over tRPC (mutations `<path>.<group>.download` /
 * `.upload`, subscription `<path>.<group>.changes`).
 */
export function createTransport(options: TransportOptions): SyncTransport {
  const { client, subscriptionsReady } = untypedClient(options);
  const prefix = options.path ? `${options.path.replace(/\.$/, '')}.` : '';
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const setup = new SetupCheck(
    (procedure, signal) => client.query(procedure, undefined, { signal }),
    { path: options.path, url: typeof options.url === 'string' ? options.url : undefined },
    timeoutMs,
  );
  const identity = options.configIdentity === undefined ? {} : { config: options.configIdentity };
  const call = async (group: string, what: 'download' | 'upload', request: object) => {
    const input = { ...request, ...identity };
    let answer: unknown;
    let failed = false;
    // A request that never gets an answer must not hold the sync (and its status) forever:
    // e.g. a browser over HTTP/1.1 queues it behind the origin's 6 connections, which
    // EventSource streams (realtime subscriptions of every tab) can all hold.
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(
          `no answer within ${timeoutMs} ms (in a browser over HTTP/1.1, an origin gets 6 connections shared by all tabs, and each open EventSource, such as a realtime subscription, holds one)`,
        );
        reject(error);
        abort.abort(error);
      }, timeoutMs);
    });
    try {
      answer = await Promise.race([
        client.mutation(`${prefix}${group}.${what}`, input, { signal: abort.signal }),
        timedOut,
      ]);
    } catch (cause) {
      failed = true;
      answer = cause;
    } finally {
      clearTimeout(timer);
    }
    if (failed) throw await setup.explain(answer, group, what);
    checkResponse(group, what, answer);
    return answer;
  };
  return {
    download: (group, request) => call(group, 'download', request) as Promise<DownloadResponse>,
    upload: (group, request) => call(group, 'upload', request) as Promise<UploadResponse>,
    changes: (group, observer) => {
      let done = false;
      let subscription: { unsubscribe(): void } | undefined;
      const close = () => {
        done = true;
        const s = subscription;
        subscription = undefined;
        s?.unsubscribe();
      };
      let answered = false;
      let closedByCaller = false;
      const drop = (cause: unknown) => {
        if (done) return;
        close();
        const error = errorOf(cause);
        if (NO_SUBSCRIPTION_LINK.test(error.message)) {
          observer.dropped(
            new CarburetorClientError(
              'invalid_options',
              `Realtime needs a subscription link: the tRPC client given as \`trpcClient\` cannot subscribe to ${prefix}${group}.changes (${error.message}). Add httpSubscriptionLink through splitLink, or pass \`realtime: false\`.`,
              { cause },
            ),
            true,
          );
          return;
        }
        if (answered) {
          observer.dropped(error, false);
          return;
        }
        // Refused before its first poke: a wrong `url` or `path` is named with its fix.
        const report = (mistake: Error | undefined) => {
          if (!closedByCaller) observer.dropped(mistake ?? error, false);
        };
        setup.diagnose(group).then(report, () => report(undefined));
      };
      subscriptionsReady().then(
        () => {
          if (done) return;
          try {
            // `protocol`: a server of this release pushes pages; an older one ignores it and pokes.
            const input = { protocol: PROTOCOL_VERSION, ...identity };
            const s = client.subscription(`${prefix}${group}.changes`, input, {
              onData: (data: unknown) => {
                if (done) return;
                answered = true;
                const event = (data ?? {}) as {
                  tables?: unknown;
                  pages?: unknown;
                  serverTime?: unknown;
                  lsn?: unknown;
                };
                const tables = Array.isArray(event.tables)
                  ? event.tables.filter((t): t is string => typeof t === 'string')
                  : [];
                const pages = event.pages;
                observer.poke(
                  tables,
                  typeof pages === 'object' && pages !== null
                    ? {
                        pages: pages as Record<string, PushedPage>,
                        serverTime:
                          typeof event.serverTime === 'number' ? event.serverTime : undefined,
                      }
                    : undefined,
                  typeof event.lsn === 'string' ? event.lsn : undefined,
                );
              },
              onError: (error) => drop(error),
              onComplete: () => drop(new Error(`The ${group}.changes subscription ended.`)),
              onConnectionStateChange: (state) => {
                // EventSource would reconnect on its own, at a fixed pace: close it and back off instead.
                if (state.state === 'connecting' && state.error) drop(state.error);
              },
            });
            if (done) s.unsubscribe();
            else subscription = s;
          } catch (error) {
            drop(error);
          }
        },
        (error) => drop(error),
      );
      return () => {
        closedByCaller = true;
        close();
      };
    },
  };
}

/** The server's own answer to a request that failed: its tRPC code, HTTP status and message. */
export interface ServerRefusal {
  code: string | undefined;
  status: number | undefined;
  message: string;
}

/**
 * The server's answer inside a failed sync request, or undefined when no
 * answer came (network failure, timeout, a crash of the replica).
 *
 * @example
 * ```ts
 * const refusal = serverRefusalOf(error);
 * if (refusal?.code === 'BAD_REQUEST') console.warn(refusal.message);
 * ```
 */
export function serverRefusalOf(error: unknown): ServerRefusal | undefined {
  const cause =
    error instanceof CarburetorClientError && error.code === 'sync_failed'
      ? error.cause
      : undefined;
  if (!(cause instanceof Error)) return undefined;
  const data = (cause as { data?: { code?: unknown; httpStatus?: unknown } }).data;
  const meta = (cause as { meta?: { response?: { status?: unknown } } }).meta;
  const code = typeof data?.code === 'string' ? data.code : undefined;
  const status =
    typeof data?.httpStatus === 'number'
      ? data.httpStatus
      : typeof meta?.response?.status === 'number'
        ? meta.response.status
        : undefined;
  if (code === undefined && status === undefined) return undefined;
  return { code, status, message: cause.message };
}

/** tRPC codes (and their HTTP statuses) by which a server refuses what a request carries. */
const ROW_REFUSALS = new Set(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'UNPROCESSABLE_CONTENT']);
const ROW_REFUSAL_STATUSES = new Set([400, 413, 422]);

/**
 * Whether the server refused an upload for what it carried (so a smaller
 * request may pass), rather than failing (5xx), refusing the caller (401,
 * 403) or not answering at all: those are retried, never blamed on a row.
 */
export function refusesContent(refusal: ServerRefusal | undefined): boolean {
  if (!refusal) return false;
  return refusal.code !== undefined
    ? ROW_REFUSALS.has(refusal.code)
    : ROW_REFUSAL_STATUSES.has(refusal.status ?? 0);
}
