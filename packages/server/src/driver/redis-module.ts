import { createRequire } from 'node:module';
import type RedisModule from 'ioredis';

let loaded: typeof RedisModule | undefined;

/**
 * ioredis, loaded on first use. It is an optional peer dependency, needed
 * only by the Redis change bus: a server on PostgreSQL's own bus never
 * installs it, so nothing may import it at load time.
 */
export function redisModule(): typeof RedisModule {
  if (loaded) return loaded;
  try {
    // ioredis is CommonJS: require keeps createRedisChangeBus synchronous.
    loaded = createRequire(import.meta.url)('ioredis') as typeof RedisModule;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      'Carburetor: the Redis change bus needs the "ioredis" package, an optional peer dependency of @carburetor/server. Install it (`npm install ioredis`), or use the default PostgreSQL bus.',
      { cause: error },
    );
  }
  return loaded;
}
