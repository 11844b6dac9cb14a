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
  TRPCUntypedClient,
} from '@trpc/client';
import { CarburetorClientError } from '../errors.ts';

/** The two calls the sync engine makes, per group. */
export interface SyncTransport {
  download(group: string, request: DownloadRequest): Promise<DownloadResponse>;
  upload(group: string, request: UploadRequest): Promise<UploadResponse>;
}

/** How the client reaches the server: a URL, or the app's own tRPC client. */
export type TransportOptions =
  | { url: string; trpcClient?: undefined; path?: string | undefined }
  | { trpcClient: object; url?: undefined; path?: string | undefined };

interface MutationClient {
  mutation(path: string, input?: unknown): Promise<unknown>;
}

function untypedClient(options: TransportOptions): MutationClient {
  if (typeof options.url === 'string') {
    // httpLink, not httpBatchLink: sync requests are large and sequential, and POST keeps cursors out of URLs.
    return createTRPCUntypedClient({ links: [httpLink({ url: options.url })] });
  }
  const given = options.trpcClient;
  if (given instanceof TRPCUntypedClient) return given;
  const untyped = given
    ? (getUntypedClient(given as never) as MutationClient | undefined)
    : undefined;
  if (!untyped || typeof untyped.mutation !== 'function') {
    throw new CarburetorClientError(
      'invalid_options',
      'createSyncClient needs `url` (the tRPC endpoint) or `trpcClient` (a client made with createTRPCClient or createTRPCUntypedClient).',
    );
  }
  return untyped;
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

/** Builds the transport over tRPC (mutations `<path>.<group>.download` / `.upload`). */
export function createTransport(options: TransportOptions): SyncTransport {
  const client = untypedClient(options);
  const prefix = options.path ? `${options.path.replace(/\.$/, '')}.` : '';
  const call = async (group: string, what: 'download' | 'upload', input: unknown) => {
    let answer: unknown;
    try {
      answer = await client.mutation(`${prefix}${group}.${what}`, input);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new CarburetorClientError(
        'sync_failed',
        `The ${what} of sync group "${group}" failed: ${reason}. Local writes are kept; sync again later.`,
        { cause },
      );
    }
    checkResponse(group, what, answer);
    return answer;
  };
  return {
    download: (group, request) => call(group, 'download', request) as Promise<DownloadResponse>,
    upload: (group, request) => call(group, 'upload', request) as Promise<UploadResponse>,
  };
}
