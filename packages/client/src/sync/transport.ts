import type {
  DownloadRequest,
  DownloadResponse,
  UploadRequest,
  UploadResponse,
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
  /** A poke: rows of these tables changed. The first comes once the server listens. */
  poke(tables: readonly string[]): void;
  /**
   * The subscription failed, broke or ended, and is closed. `fatal`: trying
   * again cannot help (the tRPC client has no link for subscriptions).
   */
  dropped(error: Error, fatal: boolean): void;
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

/** What came back from a URL that did not answer as tRPC (an HTML page, plain text, an empty body). */
class NotTrpcAnswer extends Error {
  readonly url: string;
  readonly status: number;
  readonly contentType: string;
  readonly body: string;

  constructor(url: string, status: number, contentType: string, body: string) {
    super(`${url} answered ${status} ${contentType || '(no content type)'}, not tRPC's JSON`);
    this.name = 'NotTrpcAnswer';
    this.url = url;
    this.status = status;
    this.contentType = contentType;
    this.body = body;
  }
}

/**
 * `fetch` for the client's own httpLink: an answer that is not JSON stops
 * here with what came back, instead of tRPC's bare `Unexpected end of JSON input`.
 */
const fetchTrpcAnswer: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const contentType = response.headers.get('content-type') ?? '';
  if (/json/i.test(contentType)) return response;
  const text = await response.text();
  try {
    JSON.parse(text);
  } catch {
    const url = input instanceof Request ? input.url : String(input);
    throw new NotTrpcAnswer(url, response.status, contentType, text);
  }
  return new Response(text, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
};

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
  const setup = new SetupCheck(client, options, timeoutMs);
  const call = async (group: string, what: 'download' | 'upload', input: unknown) => {
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
      const drop = (cause: unknown) => {
        if (done) return;
        close();
        const error = errorOf(cause);
        const fatal = NO_SUBSCRIPTION_LINK.test(error.message);
        observer.dropped(
          fatal
            ? new CarburetorClientError(
                'invalid_options',
                `Realtime needs a subscription link: the tRPC client given as \`trpcClient\` cannot subscribe to ${prefix}${group}.changes (${error.message}). Add httpSubscriptionLink through splitLink, or pass \`realtime: false\`.`,
                { cause },
              )
            : error,
          fatal,
        );
      };
      subscriptionsReady().then(
        () => {
          if (done) return;
          try {
            const s = client.subscription(`${prefix}${group}.changes`, undefined, {
              onData: (data: unknown) => {
                if (done) return;
                const tables = (data as { tables?: unknown } | null)?.tables;
                observer.poke(
                  Array.isArray(tables) ? tables.filter((t) => typeof t === 'string') : [],
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
      return close;
    },
  };
}

/** The tRPC error code a failed call carries (`NOT_FOUND`, ...), if the server sent one. */
function trpcCodeOf(error: unknown): string | undefined {
  const code = (error as { data?: { code?: unknown } } | null)?.data?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The first error of `type` in `error`'s cause chain. */
function causeOfType<T extends Error>(
  error: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    if (current instanceof type) return current;
    current = current.cause;
  }
  return undefined;
}

/** The start of a body, on one line, for a message. */
function excerpt(body: string): string {
  const line = body.replace(/\s+/g, ' ').trim();
  if (line === '') return 'an empty body';
  return JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}…` : line);
}

/**
 * Turns a failed sync request into the error the app sees. Two setup
 * mistakes are named with their fix (`sync_not_found`): a `url` that does
 * not answer as tRPC, and a `path` where no sync router is mounted (the
 * client then probes a few likely mounts with GETs, which a mutation never
 * runs on). Everything else is `sync_failed`, which the loop retries.
 */
class SetupCheck {
  readonly #client: TrpcCalls;
  readonly #path: string;
  readonly #url: string | undefined;
  readonly #timeoutMs: number;

  constructor(client: TrpcCalls, options: TransportOptions, timeoutMs: number) {
    this.#client = client;
    this.#path = options.path ? options.path.replace(/\.$/, '') : '';
    this.#url = typeof options.url === 'string' ? options.url : undefined;
    this.#timeoutMs = timeoutMs;
  }

  async explain(cause: unknown, group: string, what: string): Promise<CarburetorClientError> {
    const procedure = this.#procedure(this.#path, group, what);
    const notTrpc = causeOfType(cause, NotTrpcAnswer);
    if (notTrpc && notTrpc.status >= 500) {
      // An HTML 502/503 is a proxy or host failing, most often for a moment: retried.
      return failedError(
        group,
        what,
        `${notTrpc.url} answered ${notTrpc.status} ${notTrpc.contentType || '(no content type)'}, not tRPC (a proxy or the host failing?): ${excerpt(notTrpc.body)}`,
        cause,
      );
    }
    if (notTrpc) {
      return this.#notTrpc(
        `${notTrpc.url} answered ${notTrpc.status} ${notTrpc.contentType || '(no content type)'} with ${excerpt(notTrpc.body)}`,
        cause,
      );
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (
      causeOfType(cause, SyntaxError) ||
      /Unable to transform response from server/.test(reason)
    ) {
      // The answer was not JSON, or JSON not in tRPC's shape (a `trpcClient` of the app's own).
      const response = (cause as { meta?: { response?: Response } }).meta?.response;
      const answered = response
        ? `answered ${response.status} ${response.headers.get('content-type') ?? '(no content type)'}`
        : 'answered';
      return this.#notTrpc(
        `${procedure} ${answered} something that is not tRPC (${reason})`,
        cause,
      );
    }
    if (trpcCodeOf(cause) === 'NOT_FOUND' && /No procedure found/i.test(reason)) {
      return this.#noSyncRouter(procedure, group, what, cause);
    }
    return failedError(group, what, reason, cause);
  }

  #procedure(path: string, group: string, what: string): string {
    return `${path ? `${path}.` : ''}${group}.${what}`;
  }

  #notTrpc(what: string, cause: unknown): CarburetorClientError {
    const url = this.#url ? `\`url\` "${this.#url}"` : "The endpoint of the `trpcClient`'s links";
    return new CarburetorClientError(
      'sync_not_found',
      `${url} did not answer as a tRPC endpoint: ${what}. It must be the endpoint your tRPC handler serves (its \`endpoint\`, e.g. "http://localhost:3000/api/trpc" for app/api/trpc/[trpc]/route.ts), not the site's address or another API.`,
      { cause },
    );
  }

  async #noSyncRouter(
    procedure: string,
    group: string,
    what: string,
    cause: unknown,
  ): Promise<CarburetorClientError> {
    const at = (path: string) => (path ? `at path "${path}"` : 'at the root (no `path`)');
    const tried = this.#candidates().filter((path) => path !== this.#path);
    const found = await this.#mountedAt(tried, group, what);
    const on = this.#url ? ` of "${this.#url}"` : '';
    const intro = `No sync router answers ${at(this.#path)}${on}: the server has no procedure "${procedure}".`;
    if (found !== undefined) {
      const fix = found
        ? `pass \`path: '${found}'\` to createSyncClient (the key under which createSyncRouter is mounted in your app router).`
        : 'leave `path` out (the sync router is served directly, not mounted in an app router).';
      return new CarburetorClientError(
        'sync_not_found',
        `${intro} It answers ${at(found)}: ${fix}`,
        { cause },
      );
    }
    const others = tried.map((path) => `"${this.#procedure(path, group, what)}"`).join(', ');
    return new CarburetorClientError(
      'sync_not_found',
      `${intro} Nor is it at ${others}. Pass as \`path\` the key under which createSyncRouter is mounted in your app router (\`router({ sync: createSyncRouter(config, ...) })\` is \`path: 'sync'\`), check that \`url\` is that router's endpoint, and that the server's config has the sync group "${group}".`,
      { cause },
    );
  }

  /** Likely mounts: served directly, the documented `sync`, and the tail ends of the path given. */
  #candidates(): string[] {
    const segments = this.#path ? this.#path.split('.') : [];
    const tails = segments.map((_, i) => segments.slice(i + 1).join('.'));
    return [...new Set(['', 'sync', ...tails])];
  }

  /** The first of `paths` where the sync router answers: a GET to a mutation is refused with METHOD_NOT_SUPPORTED, never run. */
  async #mountedAt(paths: string[], group: string, what: string): Promise<string | undefined> {
    for (const path of paths) {
      try {
        await this.#client.query(this.#procedure(path, group, what), undefined, {
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (error) {
        if (trpcCodeOf(error) === 'METHOD_NOT_SUPPORTED') return path;
      }
    }
    return undefined;
  }
}

function failedError(
  group: string,
  what: string,
  reason: string,
  cause: unknown,
): CarburetorClientError {
  return new CarburetorClientError(
    'sync_failed',
    `The ${what} of sync group "${group}" failed: ${reason}. Local writes are kept; sync again later.`,
    { cause },
  );
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
