import { spawn } from 'node:child_process';
import { killTree } from '../process-tree.ts';
import { freePort, waitUntil } from '../server.ts';

/** A consumer app's server, started by the suite. */
export interface AppServer {
  readonly origin: string;
  readonly log: string[];
  stop(): Promise<void>;
}

/**
 * Starts `command` in `dir` with the free port it was given (`port` builds
 * its arguments and environment) and waits until `readyPath` answers.
 */
export async function serveApp(
  dir: string,
  command: string,
  args: (port: number) => string[],
  options: { readyPath?: string; env?: NodeJS.ProcessEnv } = {},
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
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        return (await fetch(`${origin}${options.readyPath ?? '/'}`)).ok;
      },
      `${command} ${args(port).join(' ')} at ${origin}`,
      90_000,
      () => log.join(''),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { origin, log, stop };
}
