import { type ChildProcess, spawn } from 'node:child_process';
import { findFreePort } from './free-port.ts';

/** A throwaway redis-server that this process controls. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Whether the server is up (between `start` and `kill`/`stop`). */
  readonly running: boolean;
  /** Kills the server with SIGKILL (no goodbye to its clients) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (if it is up). */
  stop(): Promise<void>;
}

/**
 * Starts Debian's `redis-server` on a free port of 127.0.0.1, in memory
 * only (no RDB or AOF files, no Unix socket). The global setup starts the
 * run's shared server with it; a test that kills and restarts Redis starts
 * its own, since other test files use the shared one concurrently.
 *
 * @example
 * const redis = await startRedisServer();
 * await redis.kill();
 * await redis.start(); // same port
 * await redis.stop();
 */
export async function startRedisServer(): Promise<RedisServer> {
  let lastError: unknown;
  // The free port is probed then released, so another process may grab it: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    try {
      return controlled(port, await spawnRedis(port));
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`Could not start redis-server after 3 attempts: ${String(lastError)}`);
}

function controlled(port: number, first: ChildProcess): RedisServer {
  let child: ChildProcess | undefined = first;
  const stopWith = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined;
    },
    kill: () => stopWith('SIGKILL'),
    async start() {
      if (child) return;
      child = await spawnRedis(port);
    },
    stop: () => stopWith('SIGTERM'),
  };
}

/** Spawns redis-server on `port` and resolves once it says it is ready. */
function spawnRedis(port: number): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const fail = (why: string) => {
      child.kill('SIGKILL');
      reject(new Error(`${why}\n${output.slice(-2_000)}`));
    };
    const timer = setTimeout(() => fail('redis-server did not get ready within 10 s.'), 10_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(
              'redis-server is not installed: run `apt-get install -y redis-server` (.ci/run does), or set REDIS_URL to a Redis the tests may use.',
            )
          : error,
      );
    });
    const onEarlyExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code} before it was ready.\n${output}`));
    };
    child.on('exit', onEarlyExit);
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      child.off('exit', onEarlyExit);
      // Keep draining its output (into nothing), or a full pipe would stall it.
      child.stdout?.off('data', onOutput);
      child.stdout?.resume();
      resolve(child);
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
  });
}
