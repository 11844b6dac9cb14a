/**
 * What went wrong in `@carburetor/react`, as a stable string a program can switch on.
 *
 * @example
 * ```ts
 * const code: ReactErrorCode = 'missing_provider';
 * ```
 */
export type ReactErrorCode =
  /** A hook was called outside its `<CarburetorProvider>`. */
  | 'missing_provider'
  /** A hook names a table that none of the client's sync groups holds. */
  | 'table_not_synced'
  /** A write hook names a table that is read-only in every one of the client's groups. */
  | 'table_not_writable'
  /** A write was asked for while the provider has no client (`client={null}`). */
  | 'no_client'
  /** The client promise given to `<CarburetorProvider>` rejected. */
  | 'client_failed';

/**
 * Base class of every error `@carburetor/react` throws. `code` is stable;
 * `message` says what was wrong and what to do; `cause` keeps the underlying
 * error when there is one.
 *
 * @example
 * ```ts
 * if (error instanceof CarburetorReactError && error.code === 'missing_provider') console.error(error.message);
 * ```
 */
export class CarburetorReactError extends Error {
  readonly code: ReactErrorCode;

  constructor(code: ReactErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CarburetorReactError';
    this.code = code;
  }
}
