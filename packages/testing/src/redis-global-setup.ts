import type { TestProject } from 'vitest/node';
import { REDIS_URL_ENV, REDIS_URL_KEY } from './provided.ts';
import { startRedisServer } from './redis-server.ts';

/**
 * Vitest global setup: one Redis for the whole test run, for the Redis
 * change bus's tests. Uses `REDIS_URL` when it is set; otherwise starts
 * Debian's `redis-server` on a free port of 127.0.0.1 and stops it at
 * teardown. Tests reach it through `testRedisUrl()` from `@carburetor/testing`.
 *
 * @example
 * // vitest.config.ts
 * export default packageTestConfig({
 *   globalSetup: ['@carburetor/testing/global-setup', '@carburetor/testing/redis-global-setup'],
 * });
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env['REDIS_URL'];
  const server = external ? undefined : await startRedisServer();
  const url = external ?? server!.url;
  project.provide(REDIS_URL_KEY, url);
  process.env[REDIS_URL_ENV] = url;
  return async () => {
    await server?.stop();
  };
}
