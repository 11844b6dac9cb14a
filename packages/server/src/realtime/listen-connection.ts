import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { pgModule } from '../driver/pg-module.ts';
import { withPgliteSession } from '../driver/pglite-dialect.ts';
import { CHANGES_CHANNEL } from '../schema/names.ts';

/** What a LISTEN connection reports to its hub. */
export interface ListenHandlers {
  /** A NOTIFY payload on the changes channel. */
  notify(payload: string): void;
  /** The connection broke (killed, network gone, server restarted); called at most once. */
  lost(error: unknown): void;
}

/** An open LISTEN connection. */
export interface ListenConnection {
  close(): Promise<void>;
}

/** Opens one LISTEN connection on the changes channel; rejects if it cannot. */
export type ListenConnector = (handlers: ListenHandlers) => Promise<ListenConnection>;

/**
 * A dedicated `pg.Client` (not a pool slot: it stays busy for as long as it
 * listens) with TCP keep-alive, so a dead peer is noticed without polling.
 */
export function pgListenConnector(config: pg.ClientConfig): ListenConnector {
  return async (handlers) => {
    const client = new (pgModule().Client)({
      application_name: 'carburetor-listen',
      ...config,
      keepAlive: true,
    });
    let done = false;
    const lost = (error: unknown) => {
      if (done) return;
      done = true;
      handlers.lost(error);
      client.end().catch(() => {});
    };
    // Both may fire for one break ('error' then 'end'); after close() they are expected.
    client.on('error', lost);
    client.on('end', () => lost(new Error('The LISTEN connection to PostgreSQL ended.')));
    client.on('notification', (message) => {
      if (!done && message.channel === CHANGES_CHANNEL && message.payload !== undefined) {
        handlers.notify(message.payload);
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      done = true;
      await client.end().catch(() => {});
      throw error;
    }
    return {
      async close() {
        done = true;
        await client.end().catch(() => {});
      },
    };
  };
}

/**
 * The client config of a LISTEN connection to the database a pg pool
 * reaches: the pool's own options, password and TLS key included (pg-pool
 * keeps those non-enumerable).
 */
export function listenConfigOfPool(pool: pg.Pool): pg.ClientConfig {
  const options = pool.options as pg.PoolConfig;
  return { ...options, password: options.password, ssl: options.ssl };
}

/** PGlite's own listen(), taken while no kysely transaction holds the session. */
export function pgliteListenConnector(pglite: PGlite): ListenConnector {
  return async (handlers) => {
    const unlisten = await withPgliteSession(pglite, () =>
      pglite.listen(CHANGES_CHANNEL, (payload) => handlers.notify(payload)),
    );
    return {
      async close() {
        if (pglite.closed) return;
        await withPgliteSession(pglite, () => unlisten()).catch(() => {});
      },
    };
  };
}
