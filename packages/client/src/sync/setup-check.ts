import { UPDATE_REQUIRED_TRPC_CODE } from '@carburetor/core';
import { CarburetorClientError } from '../errors.ts';

/**
 * Why a sync request failed, in the words the app needs. Two setup mistakes
 * are named with their fix (`sync_not_found`): a `url` that does not answer
 * as tRPC, and a `path` where no sync router is mounted. Everything else is
 * `sync_failed`, which the loop retries.
 */

/** Calls a procedure with GET (a query): how the check probes for the sync router. */
export type ProbeQuery = (procedure: string, signal: AbortSignal) => Promise<unknown>;

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
export const fetchTrpcAnswer: typeof fetch = async (input, init) => {
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
export class SetupCheck {
  readonly #probe: ProbeQuery;
  readonly #path: string;
  readonly #url: string | undefined;
  readonly #timeoutMs: number;

  constructor(
    probe: ProbeQuery,
    where: { path?: string | undefined; url?: string | undefined },
    timeoutMs: number,
  ) {
    this.#probe = probe;
    this.#path = where.path ? where.path.replace(/\.$/, '') : '';
    this.#url = where.url;
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
    if (trpcCodeOf(cause) === UPDATE_REQUIRED_TRPC_CODE && /^update_required\b/.test(reason)) {
      return new CarburetorClientError(
        'update_required',
        `The ${what} of sync group "${group}" was refused: ${reason.replace(/^update_required: /, '')}`,
        { cause },
      );
    }
    return failedError(group, what, reason, cause);
  }

  /**
   * Whether the sync router answers for `group` where the client looks, for a
   * failure that carries no answer to read (a realtime subscription's
   * EventSource reports only "Non-200 status code"): undefined if it does,
   * else the setup mistake, named with its fix.
   */
  async diagnose(group: string): Promise<CarburetorClientError | undefined> {
    try {
      await this.#probe(
        this.#procedure(this.#path, group, 'download'),
        AbortSignal.timeout(this.#timeoutMs),
      );
    } catch (error) {
      if (trpcCodeOf(error) === 'METHOD_NOT_SUPPORTED') return undefined;
      const explained = await this.explain(error, group, 'download');
      return explained.code === 'sync_not_found' ? explained : undefined;
    }
    return undefined;
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
    const found = await this.#mountedAt(tried, group);
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
  async #mountedAt(paths: string[], group: string): Promise<string | undefined> {
    for (const path of paths) {
      try {
        // A mutation, whatever failed: a GET to a subscription would open its stream.
        await this.#probe(
          this.#procedure(path, group, 'download'),
          AbortSignal.timeout(this.#timeoutMs),
        );
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
