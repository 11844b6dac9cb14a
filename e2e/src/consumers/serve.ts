import { type ChildProcess, spawn } from 'node:child_process';
import { killTree } from '../process-tree.ts';
import { freePort } from '../server.ts';

/** A consumer app's server, started by the suite. */
export interface AppServer {
  readonly origin: string;
  readonly port: number;
  readonly log: string[];
  stop(): Promise<void>;
}

/**
 * Polls `check` until it is true; fails, with what the process printed, when
 * the process exits first or after `timeoutMs`.
 */
export async function untilReady(
  child: ChildProcess,
  check: () => Promise<boolean>,
  what: string,
  log: readonly string[],
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${log.join('')}`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.\n${log.join('')}`);
}

/**
 * Starts `command` in `dir` on a free port (`args` builds its arguments from
 * it; it is also `PORT` in its environment) and waits until `readyPath`
 * answers with a 2xx, or with anything when `anyAnswer` (an API with no
 * route at its root).
 */
export async function serveApp(
  dir: string,
  command: string,
  args: (port: number) => string[],
  options: { readyPath?: string; anyAnswer?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<AppServer> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child = spawn(command, args(port), {
    cwd: dir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', PORT: String(port), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null) await killTree(child.pid);
  };
  try {
    await untilReady(
      child,
      async () => {
        const response = await fetch(`${origin}${options.readyPath ?? '/'}`);
        return response.ok || options.anyAnswer === true;
      },
      `${command} ${args(port).join(' ')} at ${origin}`,
      log,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { origin, port, log, stop };
}
