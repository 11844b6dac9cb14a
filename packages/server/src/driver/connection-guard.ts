import type pg from 'pg';
import { burstReporter } from './burst-reporter.ts';
import { isDatabaseUnavailable } from './connection-errors.ts';

/**
 * Receives errors of pg connections that broke outside a query: idle in the
 * pool, or checked out between two queries (PostgreSQL restarted, a backend
 * was terminated, the network dropped). Queries in flight fail on their own.
 */
export type ConnectionErrorHandler = (error: unknown) => void;

/** The default handler: one `console.warn` per burst of broken connections. */
export function warnConnectionErrors(): ConnectionErrorHandler {
  return burstReporter((error, skipped) => {
    const more = skipped > 0 ? ` (${skipped} more since the last warning)` : '';
    console.warn(
      `Carburetor: a PostgreSQL connection broke${more}: ${String(error)}. ` +
        'Requests fail until the database answers again; the pool reconnects by itself.',
    );
  });
}

// Pools that already carry Carburetor's listener, with the handler their checkouts report to:
// one per pool, however many Kyselys share it.
const guardedPools = new WeakMap<pg.Pool, ConnectionErrorHandler>();

/**
 * Gives a pool an 'error' listener, so a connection that breaks while idle
 * (pg-pool re-emits that on the pool) cannot crash the process with an
 * unhandled 'error' event; pg-pool has already dropped that connection.
 * Errors go to `onError`, or by default to one warning per burst, which
 * stays quiet while the pool has an 'error' listener besides ours (the app
 * hears of the error there).
 *
 * @returns the handler for errors of this pool's checked-out clients.
 */
export function guardPool(pool: pg.Pool, onError?: ConnectionErrorHandler): ConnectionErrorHandler {
  const known = guardedPools.get(pool);
  if (known) return onError ? safely(onError) : known;
  let handler: ConnectionErrorHandler;
  if (onError) {
    handler = safely(onError);
  } else {
    const warn = warnConnectionErrors();
    handler = (error) => {
      if (pool.listenerCount('error') <= 1) warn(error);
    };
  }
  guardedPools.set(pool, handler);
  pool.on('error', handler);
  return handler;
}

/** The handler, made unable to throw: it runs inside pg's socket events, where a throw would be the crash we prevent. */
function safely(onError: ConnectionErrorHandler): ConnectionErrorHandler {
  return (error) => {
    try {
      onError(error);
    } catch {
      // Nowhere left to report it.
    }
  };
}

/** A client checked out of the pool, watched for errors until it is released. */
export interface GuardedCheckout {
  /** Whether the connection broke while checked out. */
  readonly broken: boolean;
  /**
   * Notes a query's error: one saying the connection is gone (a terminated
   * backend answers the query in flight before the socket closes) marks the
   * client broken, so it is not handed out again.
   */
  queryFailed(error: unknown): void;
  /** Stops watching and returns the client to the pool; a broken one is destroyed. */
  release(destroy?: boolean): void;
}

/**
 * Watches a checked-out client: pg-pool takes its own listener off a client
 * while it is checked out, and pg emits 'error' on the client when its
 * connection dies (even with a query in flight, which also fails), so
 * without a listener here that error would crash the process.
 */
export function guardCheckout(
  client: pg.PoolClient,
  onError: ConnectionErrorHandler,
): GuardedCheckout {
  let broken = false;
  const listener = (error: Error) => {
    broken = true;
    onError(error);
  };
  client.on('error', listener);
  return {
    get broken() {
      return broken;
    },
    queryFailed(error) {
      if (isDatabaseUnavailable(error)) broken = true;
    },
    release(destroy) {
      client.removeListener('error', listener);
      // pg-pool drops an unqueryable client by itself too; saying so does not depend on its internals.
      client.release(destroy || broken ? true : undefined);
    },
  };
}
