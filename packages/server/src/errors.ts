/**
 * What went wrong, as a stable string a program can switch on.
 *
 * - `type_mismatch`, `primary_key_mismatch`, `nullability_mismatch`,
 *   `undeclared_required_column`, `missing_default`, `not_a_table`,
 *   `no_schema`: `migrateServer` refused the database as it is (nothing was
 *   changed).
 * - `bad_request`: a request that is not what the protocol allows (a
 *   malformed cursor, an unknown group or table).
 * - `unauthorized`: the caller's context lacks a value a restricted group needs.
 * - `no_listen_source`: realtime changes were asked for, but nothing says
 *   where to open the LISTEN connection.
 * - `not_set_up`: the database lacks Carburetor's tables: `migrateServer`
 *   has not run on it for this config.
 * - `pglite_bundled`: PGlite could not load its own files because a bundler
 *   (Next.js with webpack) rewrote them; the message names the setting.
 * - `not_implemented`: a part of the server that does not exist yet.
 */
export type ServerErrorCode =
  | 'type_mismatch'
  | 'primary_key_mismatch'
  | 'nullability_mismatch'
  | 'undeclared_required_column'
  | 'missing_default'
  | 'not_a_table'
  | 'no_schema'
  | 'bad_request'
  | 'unauthorized'
  | 'no_listen_source'
  | 'not_set_up'
  | 'pglite_bundled'
  | 'not_implemented';

/** Where an error was found, and what was expected there. */
export interface ServerErrorDetails {
  /** SQL name of the table. */
  table?: string | undefined;
  column?: string | undefined;
  expected?: string | undefined;
  found?: string | undefined;
  cause?: unknown;
}

/**
 * Base class of every error `@carburetor/server` throws. `code` is stable;
 * `message` says what was wrong, where, and what to do.
 *
 * @example
 * ```ts
 * try {
 *   await migrateServer(db, config);
 * } catch (error) {
 *   if (error instanceof CarburetorServerError && error.code === 'type_mismatch') {
 *     console.error(`${error.table}.${error.column}: expected ${error.expected}, found ${error.found}`);
 *   }
 *   throw error;
 * }
 * ```
 */
export class CarburetorServerError extends Error {
  readonly code: ServerErrorCode;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly expected: string | undefined;
  readonly found: string | undefined;

  constructor(code: ServerErrorCode, message: string, details: ServerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CarburetorServerError';
    this.code = code;
    this.table = details.table;
    this.column = details.column;
    this.expected = details.expected;
    this.found = details.found;
  }
}

/**
 * `migrateServer` refused the schema: every problem found, before any DDL
 * ran. The first problem's fields are the error's own.
 */
export class MigrationError extends CarburetorServerError {
  readonly problems: readonly CarburetorServerError[];

  constructor(problems: readonly CarburetorServerError[]) {
    const first = problems[0]!;
    const message =
      problems.length === 1
        ? `Carburetor did not migrate the database (nothing was changed): ${first.message}`
        : `Carburetor did not migrate the database (nothing was changed); ${problems.length} problems:\n${problems.map((p) => `- ${p.message}`).join('\n')}`;
    super(first.code, message, first);
    this.name = 'MigrationError';
    this.problems = problems;
  }
}
