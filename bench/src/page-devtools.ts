// The JS heap and CPU profiles of a Chromium page and of its dedicated
// workers, read over the DevTools protocol while a benchmark runs. Playwright's CDP sessions reach
// pages only, so this speaks to the browser's own DevTools endpoint
// (launched with --remote-debugging-port=0) and auto-attaches to the page's
// workers, each a flat session of one WebSocket.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Launch flag that makes Chromium write its DevTools port to the profile's DevToolsActivePort. */
export const DEVTOOLS_PORT_ARG = '--remote-debugging-port=0';

/** Peak JS heap in use over one sampling window, in bytes. */
export interface HeapPeaks {
  readonly page: number;
  /** The largest of the workers' peaks (the OPFS driver runs one dedicated worker). */
  readonly worker: number;
  /** The peaks of each quarter of the window, in order: a heap that grows with the rows climbs. */
  readonly quarters: readonly { readonly page: number; readonly worker: number }[];
  /** How many samples the window took of each target. */
  readonly samples: number;
}

/** A V8 CPU profile (Profiler.stop's `profile`). */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples?: number[];
  timeDeltas?: number[];
}

/** The page and its workers over the DevTools protocol: their JS heap, and CPU profiles. */
export interface PageDevtools {
  /** Collects garbage in the page and every worker (HeapProfiler.collectGarbage). */
  collectGarbage(): Promise<void>;
  /** Heap in use now: the page and the largest worker. */
  usage(): Promise<{ page: number; worker: number }>;
  /**
   * Samples every `intervalMs` until the returned function is called; it
   * answers the peaks. With `live`, garbage is collected before each sample,
   * so the peaks are of what is still reachable (slower: not for timed runs).
   */
  sample(intervalMs?: number, live?: boolean): () => Promise<HeapPeaks>;
  /** Starts V8's sampling profiler in the page and every worker; the returned function stops it. */
  profile(): Promise<() => Promise<{ page: CpuProfile; workers: CpuProfile[] }>>;
  close(): void;
}

interface CdpMessage {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/**
 * Connects to the DevTools endpoint of the Chromium whose profile is
 * `profileDir`, attaches to the page whose URL starts with `pageUrl`, and
 * follows its dedicated workers as they come and go.
 */
export async function connectPageDevtools(
  profileDir: string,
  pageUrl: string,
): Promise<PageDevtools> {
  const [port, path] = (await readFile(join(profileDir, 'DevToolsActivePort'), 'utf8')).split('\n');
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('DevTools endpoint refused')), {
      once: true,
    });
  });
  let next = 0;
  const waiting = new Map<
    number,
    { resolve(r: CdpMessage['result']): void; reject(e: Error): void }
  >();
  const workers = new Set<string>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as CdpMessage;
    if (message.id !== undefined) {
      const call = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) call?.reject(new Error(message.error.message));
      else call?.resolve(message.result);
      return;
    }
    const info = message.params?.['targetInfo'] as { type?: string } | undefined;
    if (message.method === 'Target.attachedToTarget' && info?.type === 'worker') {
      workers.add(String(message.params?.['sessionId']));
    } else if (message.method === 'Target.detachedFromTarget') {
      workers.delete(String(message.params?.['sessionId']));
    }
  });
  const send = (method: string, params: object = {}, sessionId?: string) =>
    new Promise<CdpMessage['result']>((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  const { targetInfos } = (await send('Target.getTargets')) as {
    targetInfos: { targetId: string; type: string; url: string }[];
  };
  const target = targetInfos.find((t) => t.type === 'page' && t.url.startsWith(pageUrl));
  if (!target) throw new Error(`no page at ${pageUrl} among ${targetInfos.length} targets`);
  const { sessionId: page } = (await send('Target.attachToTarget', {
    targetId: target.targetId,
    flatten: true,
  })) as { sessionId: string };
  await send(
    'Target.setAutoAttach',
    { autoAttach: true, waitForDebuggerOnStart: false, flatten: true },
    page,
  );

  const usedOf = async (sessionId: string) => {
    try {
      return Number((await send('Runtime.getHeapUsage', {}, sessionId))?.['usedSize'] ?? 0);
    } catch {
      return 0; // a worker that ended between the listing and the call
    }
  };
  const usage = async () => {
    const [pageUsed, ...workerUsed] = await Promise.all([page, ...workers].map(usedOf));
    return { page: pageUsed ?? 0, worker: Math.max(0, ...workerUsed) };
  };
  const collectGarbage = async () => {
    await Promise.all(
      [page, ...workers].map((s) => send('HeapProfiler.collectGarbage', {}, s).catch(() => {})),
    );
  };
  return {
    collectGarbage,
    usage,
    sample(intervalMs = 100, live = false) {
      let stopped = false;
      const series: { page: number; worker: number }[] = [];
      const loop = (async () => {
        while (!stopped) {
          if (live) await collectGarbage();
          series.push(await usage());
          await sleep(intervalMs);
        }
      })();
      const peakOf = (part: readonly { page: number; worker: number }[]) => ({
        page: Math.max(0, ...part.map((s) => s.page)),
        worker: Math.max(0, ...part.map((s) => s.worker)),
      });
      return async () => {
        stopped = true;
        await loop;
        const quarter = Math.ceil(series.length / 4);
        const quarters = [0, 1, 2, 3].map((q) =>
          peakOf(series.slice(q * quarter, (q + 1) * quarter)),
        );
        return { ...peakOf(series), quarters, samples: series.length };
      };
    },
    profile: async () => {
      const sessions = [page, ...workers];
      for (const s of sessions) {
        await send('Profiler.enable', {}, s);
        await send('Profiler.setSamplingInterval', { interval: 200 }, s);
        await send('Profiler.start', {}, s);
      }
      return async () => {
        const [pageProfile, ...workerProfiles] = await Promise.all(
          sessions.map(
            async (s) => ((await send('Profiler.stop', {}, s)) as { profile: CpuProfile }).profile,
          ),
        );
        return { page: pageProfile!, workers: workerProfiles };
      };
    },
    close: () => socket.close(),
  };
}
