import { createHash } from 'node:crypto';
import { PROTOCOL_VERSION, pushContinues } from '@carburetor/core';
import { createTRPCClient, httpLink } from '@trpc/client';

/**
 * One worker process of the realtime load check (realtime-load.ts): its
 * share of the clients, each a device that subscribes to its group's
 * `changes` over SSE, downloads on every poke (protocol 1), or applies the
 * pages pushed with it where they continue its cursor and downloads
 * otherwise (protocol 2, as the sync client does), and uploads a row every
 * 1-3 s. It reports latencies as histograms (1 ms buckets), errors, what was
 * acknowledged, and what each client holds at the end.
 */

export interface LoadClient {
  readonly index: number;
  readonly user: string;
  readonly url: string;
  /** The group it subscribes to and downloads. */
  readonly group: 'mine' | 'everything';
  /** Subscribes with protocol 2: takes pushed pages. */
  readonly pushes: boolean;
}

export type WorkerCommand =
  | { type: 'start'; clients: LoadClient[]; writeMs: number; valuesAt: number }
  | { type: 'finish' };

export interface WorkerReport {
  type: 'report';
  uploadMs: Record<number, number>;
  propagationMs: Record<number, number>;
  errors: string[];
  acked: [id: string, body: string][];
  /** Per client index: how many rows it holds, and a hash of its sorted `id=body` lines. */
  holdings: Record<number, { count: number; hash: string }>;
  downloads: number;
  pokes: number;
  /** Pushed pages applied (protocol 2). */
  pushed: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bump(histogram: Record<number, number>, ms: number) {
  const bucket = Math.max(0, Math.round(ms));
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
}

/** The hash of a set of rows, as the main process computes it from the database. */
export function holdingsHash(rows: Iterable<[string, string]>): string {
  const lines = [...rows].map(([id, body]) => `${id}=${body}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

interface RunningClient {
  stop(): void;
  done: Promise<void>;
  finalDownload(): Promise<void>;
  rows: Map<string, string>;
}

function run(command: Extract<WorkerCommand, { type: 'start' }>, report: WorkerReport) {
  const { valuesAt } = command;
  const fail = (what: string, error: unknown) => {
    if (report.errors.length < 50) report.errors.push(`${what}: ${String(error)}`);
    else report.errors.push('');
  };
  const writeUntil = Date.now() + command.writeMs;

  return command.clients.map((client): RunningClient => {
    const headers = { 'x-user': client.user };
    // biome-ignore lint/suspicious/noExplicitAny: untyped here, the router's shape is the bench's
    const trpc: any = createTRPCClient({ links: [httpLink({ url: client.url, headers })] });
    const rows = new Map<string, string>();
    let cursor: string | null = null;
    let downloading: Promise<void> | undefined;
    let again = false;
    let pushing: Promise<void> = Promise.resolve();
    const controller = new AbortController();

    /** Takes a page's rows (downloaded or pushed) and its cursor. */
    const take = (part: { columns: string[]; rows: unknown[][]; cursor: string }) => {
      const body = part.columns.indexOf('body');
      for (const row of part.rows) {
        const id = row[0] as string;
        const value = row[valuesAt + body] as string | undefined;
        if (value === undefined) continue;
        if (rows.get(id) !== value) {
          rows.set(id, value);
          const [writer, sentAt] = value.split(':');
          if (Number(writer) !== client.index)
            bump(report.propagationMs, Date.now() - Number(sentAt));
        }
      }
      cursor = part.cursor;
    };
    const downloadOnce = async () => {
      for (;;) {
        const page = await trpc[client.group].download.mutate({
          protocol: PROTOCOL_VERSION,
          clientId: `load-${client.index}`,
          tables: { note: { cursor, hasRows: cursor !== null } },
        });
        report.downloads++;
        take(page.tables.note);
        if (!page.hasMore) return;
      }
    };
    // One download at a time; a poke during one asks for another after it.
    const download = () => {
      if (downloading) {
        again = true;
        return downloading;
      }
      downloading = (async () => {
        do {
          again = false;
          try {
            await downloadOnce();
          } catch (error) {
            fail(`download ${client.index}`, error);
          }
        } while (again);
        downloading = undefined;
      })();
      return downloading;
    };

    /** A protocol 2 event: apply its page where it continues the cursor, else download. */
    const onPushEvent = (event: string) => {
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      const parsed = JSON.parse(data) as {
        tables: string[];
        pages?: Record<
          string,
          { from: string; cursor: string; columns: string[]; rows: unknown[][] }
        >;
      };
      const page = parsed.pages?.['note'];
      // In order, each after the download under way (it moves the cursor), as the sync client
      // applies pushes under its lifecycle lock.
      pushing = pushing.then(async () => {
        await downloading;
        const decision = page ? pushContinues(cursor, page.from, page.cursor) : 'gap';
        if (decision === 'gap') void download();
        else if (decision === 'apply' && page) {
          take(page);
          report.pushed++;
        }
      });
    };

    const listen = (async () => {
      try {
        const input = client.pushes
          ? `?input=${encodeURIComponent(JSON.stringify({ protocol: 2 }))}`
          : '';
        const response = await fetch(`${client.url}/${client.group}.changes${input}`, {
          headers: { accept: 'text/event-stream', ...headers },
          signal: controller.signal,
        });
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!event.includes('event:') && event.includes('data:')) {
              report.pokes++;
              if (!client.pushes) void download();
              else onPushEvent(event);
            }
            end = buffer.indexOf('\n\n');
          }
        }
        if (!controller.signal.aborted) fail(`changes ${client.index}`, 'the stream ended');
      } catch (error) {
        if (!controller.signal.aborted) fail(`changes ${client.index}`, error);
      }
    })();

    const write = (async () => {
      let n = 0;
      await sleep(Math.random() * 2_000);
      while (Date.now() < writeUntil) {
        const id = `${client.user}-${client.index}-${n++}`;
        const body = `${client.index}:${Date.now()}`;
        const t = Date.now() * 1000;
        const started = performance.now();
        try {
          const response = await trpc.mine.upload.mutate({
            protocol: PROTOCOL_VERSION,
            clientId: `load-${client.index}`,
            tables: {
              note: [
                {
                  op: 'insert',
                  id,
                  columns: { owner_id: { value: client.user, t }, body: { value: body, t } },
                },
              ],
            },
          });
          bump(report.uploadMs, performance.now() - started);
          const result = response.tables.note.results[0];
          if (result?.ok) report.acked.push([id, body]);
          else fail(`upload ${client.index}`, JSON.stringify(result));
        } catch (error) {
          fail(`upload ${client.index}`, error);
        }
        await sleep(1_000 + Math.random() * 2_000);
      }
    })();

    return {
      rows,
      done: write,
      stop: () => controller.abort(),
      async finalDownload() {
        await downloading;
        await download();
        void listen;
      },
    };
  });
}

let running: RunningClient[] = [];
const report: WorkerReport = {
  type: 'report',
  uploadMs: {},
  propagationMs: {},
  errors: [],
  acked: [],
  holdings: {},
  downloads: 0,
  pokes: 0,
  pushed: 0,
};
let clients: LoadClient[] = [];

process.on('message', async (command: WorkerCommand) => {
  if (command.type === 'start') {
    clients = command.clients;
    running = run(command, report);
    await Promise.all(running.map((c) => c.done));
    process.send?.({ type: 'written' });
    return;
  }
  // finish: catch up once more, stop listening, report.
  await Promise.all(running.map((c) => c.finalDownload()));
  for (const c of running) c.stop();
  running.forEach((c, i) => {
    report.holdings[clients[i]!.index] = { count: c.rows.size, hash: holdingsHash(c.rows) };
  });
  process.send?.(report);
});
