/** What went wrong, as a stable string a program can switch on. */
export type CoreErrorCode = 'config' | 'malformed_metadata' | 'invalid_value' | 'protocol';

/**
 * Base class of every error `@carburetor/core` throws. `code` is stable,
 * `message` says what was wrong, where, and what to do.
 *
 * @example
 * ```ts
 * try { defineSyncConfig(input) } catch (e) {
 *   if (e instanceof CarburetorError && e.code === 'config') console.error(e.message);
 * }
 * ```
 */
export class CarburetorError extends Error {
  readonly code: CoreErrorCode;

  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CarburetorError';
    this.code = code;
  }
}

/**
 * An invalid sync config. Thrown by `defineSyncConfig`; the message names the
 * table and column and says how to fix it.
 */
export class ConfigError extends CarburetorError {
  readonly table: string | undefined;
  readonly column: string | undefined;

  constructor(message: string, where: { table?: string; column?: string } = {}) {
    super('config', message);
    this.name = 'ConfigError';
    this.table = where.table;
    this.column = where.column;
  }
}

/** Column metadata that cannot be read (not JSON, or not the metadata shape). */
export class MalformedMetadataError extends CarburetorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('malformed_metadata', message, options);
    this.name = 'MalformedMetadataError';
  }
}
