import type { Redis, RedisOptions } from 'ioredis';
import { redisModule } from '../driver/redis-module.ts';
import { CarburetorServerError } from '../errors.ts';
import { CHANGES_CHANNEL } from '../schema/names.ts';
import type { ChangeBus, ChangeBusHandlers, ChangeBusSubscription } from './change-bus.ts';

/** Options of {@link createRedisChangeBus}: a URL, or an ioredis client of the app's. */
export type RedisChangeBusOptions = (
  | {
      /** `redis://[:password@]host:port[/db]` (or `rediss://` for TLS). */
      readonly url: string;
      /** More ioredis options for both connections (TLS, username, ...). */
      readonly options?: RedisOptions;
    }
  | {
      /**
       * The app's ioredis client: messages are published on it, and the
       * subscription runs on a `duplicate()` of it (a subscribed connection
       * can do nothing else). It stays the app's: `close()` leaves it open.
       */
      readonly client: Redis;
    }
) & {
  /** The pub/sub channel. Default `carburetor_changes`: one per app on a shared Redis. */
  readonly channel?: string;
};

/**
 * A change bus on Redis pub/sub, for apps that run Redis anyway or whose
 * PostgreSQL should carry no NOTIFY at all for uploads. Two connections per
 * process: one publishes (ioredis reconnects it by itself; while Redis is
 * away a publish fails at once rather than queue), one subscribes (not
 * reconnected by ioredis: the hub reopens it with backoff and then pokes
 * every subscriber, since messages were missed meanwhile). Needs the
 * optional peer `ioredis`.
 *
 * Writes from outside Carburetor (an admin's SQL) still come through
 * PostgreSQL: the notify triggers NOTIFY them, and a hub on a Redis bus does
 * not LISTEN. Pair it with the PostgreSQL bus, or have such jobs write
 * through `uploadChanges`, if they must reach clients in realtime.
 *
 * @example
 * ```ts
 * import { createChangeHub, createRedisChangeBus, createSyncRouter } from '@carburetor/server';
 *
 * const changes = createChangeHub(config, { bus: createRedisChangeBus({ url: process.env.REDIS_URL! }) });
 * export const syncRouter = createSyncRouter(config, { db, context, changes });
 * // at shutdown
 * await changes.close();
 * ```
 */
export function createRedisChangeBus(options: RedisChangeBusOptions): ChangeBus {
  const channel = options.channel ?? CHANGES_CHANNEL;
  if (typeof channel !== 'string' || channel === '') {
    throw new CarburetorServerError(
      'bad_request',
      `createRedisChangeBus: channel must be a non-empty string, not ${JSON.stringify(channel)}.`,
    );
  }
  const owned = 'url' in options;
  if (owned && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
    throw new CarburetorServerError(
      'bad_request',
      `createRedisChangeBus: url must be a redis:// or rediss:// URL, not ${JSON.stringify(options.url)}.`,
    );
  }
  const connection = (extra: RedisOptions): Redis => {
    if (!owned) return options.client.duplicate({ ...extra, lazyConnect: true });
    const Redis = redisModule();
    return new Redis(options.url, { ...options.options, ...extra, lazyConnect: true });
  };
  let publisher: { client: Redis; connected: Promise<void> } | undefined = owned
    ? undefined
    : { client: options.client, connected: Promise.resolve() };
  const publisherOf = () => {
    if (publisher) return publisher;
    const client = connection({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    // Its failures surface as failed publishes; ioredis reconnects it by itself.
    client.on('error', () => {});
    publisher = { client, connected: client.connect().catch(() => {}) };
    return publisher;
  };

  return {
    async subscribe(handlers: ChangeBusHandlers): Promise<ChangeBusSubscription> {
      const client = connection({ retryStrategy: () => null, autoResubscribe: false });
      let done = false;
      const lost = (error: unknown) => {
        if (done) return;
        done = true;
        handlers.lost(error);
        client.disconnect();
      };
      client.on('error', lost);
      client.on('end', () => lost(new Error('The Redis subscription connection ended.')));
      client.on('message', (from: string, message: string) => {
        if (!done && from === channel) handlers.message(message);
      });
      try {
        await client.connect();
        await client.subscribe(channel);
      } catch (error) {
        done = true;
        client.disconnect();
        throw error;
      }
      return {
        async close() {
          done = true;
          client.disconnect();
        },
      };
    },
    async publish(message: string): Promise<void> {
      const { client, connected } = publisherOf();
      // The first connection is awaited; later, while Redis is away, a publish fails at once.
      await connected;
      await client.publish(channel, message);
    },
    async close() {
      if (owned) publisher?.client.disconnect();
      publisher = undefined;
    },
  };
}
