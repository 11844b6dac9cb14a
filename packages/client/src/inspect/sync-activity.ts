import type { DownloadResponse, UploadRequest } from '@carburetor/core';
import type { SyncTransport } from '../sync/transport.ts';

/** One request of the sync, or one push, as the activity log keeps it (`client.recentActivity()`). */
export interface SyncActivity {
  /** `upload` and `download` are requests this client made; `push`, pages the server pushed. */
  readonly kind: 'upload' | 'download' | 'push';
  readonly group: string;
  /** When the request started (ISO 8601). */
  readonly at: string;
  readonly durationMs: number;
  /** Rows sent (upload), or entries received (download: rows, tombstones, out-of-scope ids). */
  readonly rows: number;
  /**
   * The JSON bytes sent and received. Measured only while something listens
   * (`onActivity`): serializing a large page again costs time. Else null.
   */
  readonly bytes: { readonly sent: number; readonly received: number } | null;
  /** A download page per table: entries, whether more pages follow, whether the server reset the cursor. */
  readonly tables: Readonly<
    Record<string, { readonly rows: number; readonly hasMore: boolean; readonly reset: boolean }>
  >;
  /** Why the request failed, or null. */
  readonly error: string | null;
}

/** Requests the log keeps. */
export const ACTIVITY_LOG_SIZE = 100;

/** The last {@link ACTIVITY_LOG_SIZE} requests of a client, and who listens to the next ones. */
export class ActivityLog {
  readonly #entries: SyncActivity[] = [];
  readonly #listeners = new Set<(activity: SyncActivity) => void>();

  /** The requests kept, oldest first. */
  recent(): readonly SyncActivity[] {
    return [...this.#entries];
  }

  get listened(): boolean {
    return this.#listeners.size > 0;
  }

  subscribe(listener: (activity: SyncActivity) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  record(activity: SyncActivity): void {
    this.#entries.push(activity);
    if (this.#entries.length > ACTIVITY_LOG_SIZE) this.#entries.shift();
    for (const listener of [...this.#listeners]) {
      try {
        listener(activity);
      } catch (error) {
        console.error('Carburetor: an onActivity listener threw', error);
      }
    }
  }
}

const encoder = new TextEncoder();
const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value)).length;

function uploadedRows(request: UploadRequest): number {
  let rows = 0;
  for (const table of Object.values(request.tables)) rows += table.length;
  return rows;
}

function downloadTables(response: DownloadResponse): SyncActivity['tables'] {
  const tables: Record<string, { rows: number; hasMore: boolean; reset: boolean }> = {};
  for (const [key, page] of Object.entries(response.tables)) {
    tables[key] = {
      rows: page.rows.length + page.tombstones.length + page.outOfScope.length,
      hasMore: page.hasMore,
      reset: page.reset,
    };
  }
  return tables;
}

/** `transport`, recording each download and upload in `log`. */
export function recordActivity(transport: SyncTransport, log: ActivityLog): SyncTransport {
  const timed = async <Req, Res>(
    kind: SyncActivity['kind'],
    group: string,
    request: Req,
    send: (request: Req) => Promise<Res>,
    describe: (request: Req, response: Res | undefined) => Pick<SyncActivity, 'rows' | 'tables'>,
  ): Promise<Res> => {
    const at = new Date().toISOString();
    const started = performance.now();
    const measure = log.listened;
    let response: Res | undefined;
    let error: string | null = null;
    try {
      response = await send(request);
      return response;
    } catch (thrown) {
      error = thrown instanceof Error ? thrown.message : String(thrown);
      throw thrown;
    } finally {
      log.record({
        kind,
        group,
        at,
        durationMs: Math.round(performance.now() - started),
        ...describe(request, response),
        bytes: measure
          ? { sent: jsonBytes(request), received: response === undefined ? 0 : jsonBytes(response) }
          : null,
        error,
      });
    }
  };
  return {
    download: (group, request) =>
      timed(
        'download',
        group,
        request,
        (r) => transport.download(group, r),
        (_, response) => {
          const tables = response ? downloadTables(response) : {};
          let rows = 0;
          for (const table of Object.values(tables)) rows += table.rows;
          return { rows, tables };
        },
      ),
    upload: (group, request) =>
      timed(
        'upload',
        group,
        request,
        (r) => transport.upload(group, r),
        (r) => ({
          rows: uploadedRows(r),
          tables: {},
        }),
      ),
    changes: (group, observer) =>
      transport.changes(group, {
        ...observer,
        poke: (tables, push, lsn) => {
          if (push && Object.keys(push.pages).length > 0) {
            const tablesOf: Record<string, { rows: number; hasMore: boolean; reset: boolean }> = {};
            let rows = 0;
            for (const [key, page] of Object.entries(push.pages)) {
              const entries = page.rows.length + page.tombstones.length + page.outOfScope.length;
              tablesOf[key] = { rows: entries, hasMore: false, reset: false };
              rows += entries;
            }
            log.record({
              kind: 'push',
              group,
              at: new Date().toISOString(),
              durationMs: 0,
              rows,
              bytes: log.listened ? { sent: 0, received: jsonBytes(push.pages) } : null,
              tables: tablesOf,
              error: null,
            });
          }
          observer.poke(tables, push, lsn);
        },
      }),
  };
}
