import { SqliteDriverError } from '../driver/sqlite-driver.ts';
import type { WireError } from './worker-protocol.ts';

/** A failure that crossed a worker or tab boundary, as the driver's error again. */
export function fromWire({
  code,
  message,
  sqliteCode,
  statementIndex,
}: WireError): SqliteDriverError {
  return new SqliteDriverError(code, message, {
    ...(sqliteCode === undefined ? {} : { sqliteCode }),
    ...(statementIndex === undefined ? {} : { statementIndex }),
  });
}

/** A failure as plain data, for another tab; what is not a driver error counts as a crash. */
export function toWire(error: unknown): WireError {
  const e =
    error instanceof SqliteDriverError
      ? error
      : new SqliteDriverError('crashed', error instanceof Error ? error.message : String(error));
  return {
    code: e.code,
    message: e.message,
    ...(e.sqliteCode === undefined ? {} : { sqliteCode: e.sqliteCode }),
    ...(e.statementIndex === undefined ? {} : { statementIndex: e.statementIndex }),
  };
}

/** A message `postMessage` refused (DataCloneError): a parameter the structured clone cannot copy. */
export function cloneError(error: unknown, to: string): SqliteDriverError {
  return new SqliteDriverError(
    'invalid_parameter',
    `Could not send the SQL to ${to}: ${error instanceof Error ? error.message : String(error)}. Pass null, numbers, bigints, strings or Uint8Arrays.`,
    { cause: error },
  );
}
