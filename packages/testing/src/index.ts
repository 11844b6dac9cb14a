import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import {
  ADMIN_URL_ENV,
  ADMIN_URL_KEY,
  REDIS_URL_ENV,
  REDIS_URL_KEY,
  RUN_ID_ENV,
  RUN_ID_KEY,
} from './provided.ts';

export {
  ADMIN_URL_ENV,
  ADMIN_URL_KEY,
  REDIS_URL_ENV,
  REDIS_URL_KEY,
  RUN_ID_ENV,
  RUN_ID_KEY,
} from './provided.ts';

/** A database created for one test file. */
export interface TestDatabase {
  /** Connection URL of the new database (superuser credentials). */
  readonly url: string;
  /** The database's name: lowercase, `cb_<runId>_<label>_<random>`. */
  readonly name: string;
  /** Terminates every connection to the database and drops it. Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh, uniquely named database on the test run's PostgreSQL server
 * (started by `@carburetor/testing/global-setup`, or DATABASE_URL).
 *
 * @param label a readable hint put into the name, e.g. the test file's topic.
 * @example
 * const db = await createTestDatabase('download');
 * afterAll(() => db.drop());
 * const pool = new pg.Pool({ connectionString: db.url });
 */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const adminUrl = testAdminUrl();
  const runId = providedValue(RUN_ID_KEY) ?? process.env[RUN_ID_ENV] ?? 'norun';
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 30);
  const name = `cb_${runId}_${slug || 'db'}_${randomBytes(4).toString('hex')}`;

  await withAdminClient(adminUrl, (client) =>
    client.query(`create database ${client.escapeIdentifier(name)}`),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      // WITH (FORCE) terminates the database's sessions first (PostgreSQL 13+).
      await withAdminClient(adminUrl, (client) =>
        client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`),
      );
    },
  };
}

/**
 * The superuser URL of the test run's PostgreSQL server, for tests that need
 * the server itself rather than a database on it.
 *
 * @example
 * const client = new pg.Client({ connectionString: testAdminUrl() });
 */
export function testAdminUrl(): string {
  const url =
    providedValue(ADMIN_URL_KEY) ?? process.env[ADMIN_URL_ENV] ?? process.env['DATABASE_URL'];
  if (!url) {
    throw new Error(
      'No test PostgreSQL server: this vitest config has no global setup for it. Add ' +
        "`globalSetup: ['@carburetor/testing/global-setup']` to the package's vitest config, " +
        'or set DATABASE_URL to a server the tests may create databases on.',
    );
  }
  return url;
}

/**
 * The URL of the test run's Redis, for the Redis change bus's tests. Tests
 * share it: use a channel of your own.
 *
 * @example
 * const bus = createRedisChangeBus({ url: testRedisUrl(), channel: 'changes_test_a' });
 */
export function testRedisUrl(): string {
  const url =
    providedValue(REDIS_URL_KEY) ?? process.env[REDIS_URL_ENV] ?? process.env['REDIS_URL'];
  if (!url) {
    throw new Error(
      "No test Redis: add '@carburetor/testing/redis-global-setup' to the package's vitest globalSetup, or set REDIS_URL.",
    );
  }
  return url;
}

/**
 * Runs `fn` with a pg Pool on `url` and ends the pool afterwards, even on error.
 *
 * @example
 * const count = await withPgPool(db.url, async (pool) => (await pool.query('select 1')).rowCount);
 */
export async function withPgPool<T>(url: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // A session cut while idle (a test restarting PostgreSQL, a forced drop) must not crash the
  // worker; a query on it fails on its own.
  pool.on('error', () => undefined);
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

function providedValue(
  key: typeof ADMIN_URL_KEY | typeof RUN_ID_KEY | typeof REDIS_URL_KEY,
): string | undefined {
  try {
    return inject(key) || undefined;
  } catch {
    // Outside a vitest worker `inject` throws; the environment fallback covers that.
    return undefined;
  }
}

async function withAdminClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // as in withPgPool: the query in flight fails by itself
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
