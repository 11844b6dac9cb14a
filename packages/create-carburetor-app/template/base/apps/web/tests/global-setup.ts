import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';
import { databaseEnv } from './database-env';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the built app is served, e.g. http://127.0.0.1:41234 */
    origin: string;
  }
}

/** Serves the built app with `next start` on a free port for the whole test run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync('.next/BUILD_ID')) {
    throw new Error('No build in apps/web/.next: run `pnpm test` at the root (it builds first).');
  }
  const database = await databaseEnv();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child = spawn(
    'node_modules/.bin/next',
    ['start', '--hostname', '127.0.0.1', '--port', String(port)],
    {
      env: { ...process.env, ...database.env, NEXT_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, stopped as one
    },
  );
  child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const stop = async () => {
    stopGroup(child);
    await database.remove();
  };
  try {
    await untilServing(child, origin, log);
  } catch (error) {
    await stop();
    throw error;
  }
  project.provide('origin', origin);
  return stop;
}

async function untilServing(child: ChildProcess, origin: string, log: string[]): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`next start exited:\n${log.join('')}`);
    const ok = await fetch(origin).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`next start did not answer at ${origin} within 90 s:\n${log.join('')}`);
}

function stopGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
