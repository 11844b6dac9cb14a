/**
 * SQLSTATEs that mean "the server is going away or not there yet":
 * admin_shutdown (a fast or immediate shutdown, `pg_terminate_backend`),
 * crash_shutdown, cannot_connect_now (starting up, shutting down, in recovery).
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03']);

/** Socket errors of a database that is down, restarting or unreachable. */
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * What pg says when a connection broke without a SQLSTATE: "Connection
 * terminated unexpectedly", "Connection terminated due to connection
 * timeout", pg-pool's "timeout exceeded when trying to connect", and a client
 * used after its connection failed ("... and is not queryable").
 */
const UNAVAILABLE_MESSAGE =
  /^Connection terminated\b|^timeout exceeded when trying to connect$|^Client has encountered a connection error and is not queryable$/;

/**
 * Whether an error means the database could not be reached or dropped the
 * connection (restart, shutdown, terminated backend, network cut), so that
 * the same request may well succeed a little later. Looks through `cause`
 * chains and `AggregateError`s (Node's connect may try several addresses).
 *
 * @example
 * ```ts
 * try {
 *   await db.selectFrom('phone_books').selectAll().execute();
 * } catch (error) {
 *   if (isDatabaseUnavailable(error)) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', cause: error });
 *   throw error;
 * }
 * ```
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const { code, message, cause, errors } = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    if (typeof code === 'string') {
      if (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code)) return true;
      // Class 08: connection exception (08000, 08001, 08003, 08004, 08006, 08007, 08P01).
      if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    }
    if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
    pending.push(cause);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return false;
}
