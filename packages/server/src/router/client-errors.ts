import { randomBytes } from 'node:crypto';
import { type TRPC_ERROR_CODE_KEY, TRPCError } from '@trpc/server';
import { clipText } from '../clip-text.ts';
import { isDatabaseUnavailable } from '../driver/connection-errors.ts';
import { CarburetorServerError } from '../errors.ts';

/** An error the sync router did not expect, as the operator sees it. */
export interface SyncErrorReport {
  /** The error as it was thrown (a database error, a bug), with its stack. */
  readonly error: unknown;
  /** Also in the message the client got, so a user's report leads to this entry. */
  readonly id: string;
  /** The procedure, e.g. `private_contacts.upload`. */
  readonly path: string;
  /** What the client was told. */
  readonly message: string;
}

/** Where {@link SyncErrorReport}s go: `createSyncRouter`'s `onError` option. */
export type SyncErrorHandler = (report: SyncErrorReport) => void;

/** The default handler: one line with the id and what to do, then the error with its stack. */
export const logSyncError: SyncErrorHandler = ({ error, id, path, message }) => {
  console.error(`[carburetor] ${path} failed (error id ${id}): ${message}`, error);
};

/** Longest message a client is sent: input echoed back is cut, never sent whole. */
const MAX_MESSAGE_LENGTH = 1_000;

/**
 * SQLSTATEs of a query that names what `migrateServer` creates but the
 * database lacks: undefined table, column, function or schema.
 */
const NOT_SET_UP_STATES = new Set(['42P01', '42703', '42883', '3F000']);

const TRPC_CODES: Partial<Record<CarburetorServerError['code'], TRPC_ERROR_CODE_KEY>> = {
  bad_request: 'BAD_REQUEST',
  unauthorized: 'UNAUTHORIZED',
};

/**
 * A tRPC error for the client: the code and message, and no stack whatever
 * the app's `isDev` (tRPC sends `data.stack` in development, and an app that
 * mounts the sync router inside its own router formats its errors).
 */
export function clientError(code: TRPC_ERROR_CODE_KEY, message: string): TRPCError {
  const error = new TRPCError({ code, message: clipText(message, MAX_MESSAGE_LENGTH) });
  Object.defineProperty(error, 'stack', { value: undefined });
  return error;
}

/**
 * What the client is told of an error thrown while serving `path`.
 * Carburetor's own refusals keep their message (they name the field and what
 * to do). Everything else is reported to `onError` with a fresh id and
 * answered with that id only: a database's message (table names, SQL) or a
 * bug's stack never reaches the browser.
 */
export function toClientError(error: unknown, path: string, onError: SyncErrorHandler): TRPCError {
  if (error instanceof CarburetorServerError) {
    const code = TRPC_CODES[error.code];
    if (code) return clientError(code, error.message);
  }
  // The app's own refusal, e.g. from its context function: its code and words.
  if (error instanceof TRPCError) return clientError(error.code, error.message);
  const id = randomBytes(6).toString('hex');
  let code: TRPC_ERROR_CODE_KEY = 'INTERNAL_SERVER_ERROR';
  let message = `The sync server failed on ${path} (error id ${id}); its log has the details.`;
  let reported = error;
  if (isDatabaseUnavailable(error)) {
    code = 'SERVICE_UNAVAILABLE';
    message = `The sync server cannot reach its database right now (error id ${id}); retry shortly.`;
  } else if (isNotSetUp(error)) {
    code = 'SERVICE_UNAVAILABLE';
    message = `The sync server is not set up: its database lacks Carburetor's tables (error id ${id}).`;
    reported = new CarburetorServerError(
      'not_set_up',
      'The database has not been migrated for this sync config: run migrateServer(db, config) at startup, before serving the router.',
      { cause: error },
    );
  }
  try {
    onError({ error: reported, id, path, message });
  } catch {
    // A failing handler must not change what the client is told.
  }
  return clientError(code, message);
}

function isNotSetUp(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NOT_SET_UP_STATES.has(code);
}
