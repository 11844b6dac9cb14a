/** What went wrong in `@carburetor/client`, as a stable string a program can switch on. */
export type ClientErrorCode =
  /** A value failed its column's type, size limit or validator; nothing was written. */
  | 'invalid_value'
  /** An update, delete or discard named an id the replica does not hold. */
  | 'unknown_row'
  /** An update or delete named a deleted row (deletion is permanent; insert a new row). */
  | 'deleted_row'
  /** An insert named an id the replica already holds. */
  | 'duplicate_id'
  /** The replica's schema cannot be migrated to the config (a column changed type, ...). */
  | 'schema_mismatch'
  /** `createSyncClient` was given options it cannot use. */
  | 'invalid_options'
  /** A sync request failed (network, server error, or an answer not in the protocol's shape). */
  | 'sync_failed'
  /**
   * The server did not answer as the sync router: `url` is not a tRPC
   * endpoint, or nothing is mounted at `path` (or the server's config lacks
   * the group). The message says what came back and what to pass instead;
   * a sync fails with it until the app's options or the server change.
   */
  | 'sync_not_found'
  /**
   * The server can no longer sync with this app's config: an incompatible
   * change was deployed (the message names it). Ask the user to update the
   * app; its unsent changes are kept, and sync again after the update.
   */
  | 'update_required'
  /** `discard` named a row that is not rejected. */
  | 'not_rejected'
  /**
   * A replica row cannot be read (its metadata or a value was damaged behind
   * the client's back); `client.discard(id)` replaces it with the server's version.
   */
  | 'corrupt_row'
  /**
   * The replica belongs to another identity that left unsent rows in it;
   * open a replica per identity, or pass `identityChange: 'discard'`.
   */
  | 'replica_owned'
  /** `queryReadOnly` was given something other than one SELECT (a write, a second statement, bad SQL). */
  | 'invalid_query'
  /** The client was closed. */
  | 'closed';

/**
 * Base class of every error `@carburetor/client` throws. `code` is stable;
 * `message` says what was wrong, where, and what to do; `cause` keeps the
 * underlying error (SQLite, tRPC, a validator) when there is one.
 *
 * @example
 * ```ts
 * try {
 *   await client.updatePhoneBook(id, { name: '' });
 * } catch (e) {
 *   if (e instanceof CarburetorClientError && e.code === 'invalid_value') showError(e.message);
 * }
 * ```
 */
export class CarburetorClientError extends Error {
  readonly code: ClientErrorCode;
  /** The table key the error is about, when there is one. */
  readonly table: string | undefined;
  /** The column the error is about, when there is one. */
  readonly column: string | undefined;

  constructor(
    code: ClientErrorCode,
    message: string,
    options: { cause?: unknown; table?: string; column?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CarburetorClientError';
    this.code = code;
    this.table = options.table;
    this.column = options.column;
  }
}
