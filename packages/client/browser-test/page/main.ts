// The test page: exposes the browser driver to Playwright as `window.carburetor`.
import { measureRawInserts, opfsDriver } from '@carburetor/client/browser';
import { createReplicaKysely } from '../../src/driver/sqlite-dialect.ts';
import type { SqliteValue } from '../../src/driver/sqlite-driver.ts';

/** A SQLite value as JSON, so it survives `page.evaluate`. */
export type WireValue = null | number | string | { $bigint: string } | { $bytes: number[] };

function encode(value: SqliteValue): WireValue {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof Uint8Array) return { $bytes: [...value] };
  return value;
}

function decode(value: WireValue): SqliteValue {
  if (value !== null && typeof value === 'object') {
    return '$bigint' in value ? BigInt(value.$bigint) : new Uint8Array(value.$bytes);
  }
  return value;
}

/** A thrown value as plain data. */
function describeError(error: unknown) {
  return error instanceof Error
    ? {
        name: error.name,
        message: error.message,
        code: (error as { code?: unknown }).code,
        sqliteCode: (error as { sqliteCode?: unknown }).sqliteCode,
        statementIndex: (error as { statementIndex?: unknown }).statementIndex,
      }
    : { name: 'non-error', message: String(error) };
}

const api = {
  opfsDriver,
  measureRawInserts,
  createReplicaKysely,
  encode,
  decode,
  encodeRow: (row: Record<string, SqliteValue>) =>
    Object.fromEntries(Object.entries(row).map(([key, value]) => [key, encode(value)])),
  describeError,
  /** How `promise` failed, as plain data, or null when it did not. */
  failure: (promise: Promise<unknown>) => promise.then(() => null, describeError),
};

export type PageApi = typeof api;

(globalThis as unknown as { carburetor: PageApi }).carburetor = api;
document.getElementById('status')!.textContent = 'ready';
