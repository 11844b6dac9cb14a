import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { E2E_DIST_DIR, webDir } from './paths.ts';
import { killTree } from './process-tree.ts';

/** A running `next start` of the demo. */
export interface DemoServer {
  /** `http://127.0.0.1:<port>`: a secure context, so OPFS works. */
  readonly origin: string;
  readonly port: number;
  /** What the server printed, for failure messages. */
  readonly log: string[];
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Waits until `check` resolves true, polling; fails with `what` and the log after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
  log: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.\n${log()}`);
}

/**
 * Starts `next start` on the suite's build, on a free port, against
 * `databaseUrl` (PostgreSQL) or, without it, a fresh embedded PGlite data
 * directory (`pgliteDir`, made when not given), and waits until the app
 * answers through its tRPC endpoint (the database is open by then).
 */
export async function startDemoServer(
  options: { databaseUrl?: string; pgliteDir?: string; port?: number } = {},
): Promise<DemoServer> {
  const port = options.port ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  const ownDataDir =
    options.databaseUrl || options.pgliteDir
      ? undefined
      : await mkdtemp(join(tmpdir(), 'carburetor-e2e-pglite-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEXT_DIST_DIR: E2E_DIST_DIR,
    NEXT_TELEMETRY_DISABLED: '1',
    PORT: String(port),
  };
  delete env['DATABASE_URL'];
  if (options.databaseUrl) env['DATABASE_URL'] = options.databaseUrl;
  else env['PGLITE_DIR'] = join(options.pgliteDir ?? (ownDataDir as string), 'db');
  const log: string[] = [];
  const child = spawn(
    join(webDir, 'node_modules/.bin/next'),
    ['start', '--hostname', '127.0.0.1', '--port', String(port)],
    { cwd: webDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null) await killTree(child.pid);
    if (ownDataDir) await rm(ownDataDir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        const response = await fetch(`${origin}/api/trpc/whoami`);
        return response.ok;
      },
      `the demo at ${origin}`,
      90_000,
      () => log.join(''),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { origin, port, log, stop };
}
