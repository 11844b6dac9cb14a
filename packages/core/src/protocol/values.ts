import { runValidator } from '../config/column.ts';
import type { ColumnKind, JsonValue } from '../config/column-types.ts';
import type { ResolvedColumn, ResolvedTable } from '../config/resolved.ts';
import { MAX_VALUE_BYTES } from './limits.ts';
import { encodeWireValue } from './value-codec.ts';

/** A value check's answer: the decoded value, or what is wrong with it. */
export type ValueCheck =
  | { ok: true; value: unknown; wire: JsonValue }
  | { ok: false; message: string };

const encoder = new TextEncoder();

function wireBytes(kind: ColumnKind, wire: JsonValue): number {
  if (typeof wire === 'string') {
    // base64 carries 3 bytes in 4 characters; text counts as UTF-8.
    return kind === 'bytea' ? Math.floor((wire.length * 3) / 4) : encoder.encode(wire).length;
  }
  if (kind === 'jsonb') return encoder.encode(JSON.stringify(wire)).length;
  return 8;
}

/**
 * A value as an error message shows it: JSON, cut to 40 characters (a
 * message never carries a whole 256 KiB value).
 *
 * @example
 * ```ts
 * describeValue('x'.repeat(100)); // '"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'
 * ```
 */
export function describeValue(value: unknown): string {
  return describe(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Checks a value in its wire form against a column: null only where
 * nullable, the column type, the size limit, then the column's validator.
 * The server runs it on every uploaded value.
 *
 * @example
 * ```ts
 * const check = checkWireValue(config.tables.phone_book.column.name, '');
 * if (!check.ok) console.log(check.message); // 'name: a contact needs a name'
 * ```
 */
export function checkWireValue(column: ResolvedColumn, wire: unknown): ValueCheck {
  if (wire === null) {
    return column.nullable
      ? { ok: true, value: null, wire: null }
      : { ok: false, message: `${column.name} cannot be null` };
  }
  const reason = column.type.checkWire(wire);
  if (reason !== undefined) {
    return {
      ok: false,
      message: `${column.name} expects a ${column.kind} value, got ${describe(wire)} (${reason})`,
    };
  }
  const json = wire as JsonValue;
  const bytes = wireBytes(column.kind, json);
  if (bytes > MAX_VALUE_BYTES) {
    return {
      ok: false,
      message: `${column.name} is ${bytes} bytes, over the limit of ${MAX_VALUE_BYTES} bytes per value`,
    };
  }
  const value = column.type.fromWire(json);
  if (column.validator) {
    const issue = runValidator(column.validator, value);
    if (issue !== undefined) return { ok: false, message: `${column.name}: ${issue}` };
  }
  return { ok: true, value, wire: json };
}

/**
 * Checks an app-side value (what `insertPhoneBook` receives) against a
 * column; the client runs it at every local write so bad values never reach
 * the upload queue.
 *
 * @example
 * ```ts
 * checkValue(config.tables.phone_book.column.note, null); // { ok: true, ... }
 * ```
 */
export function checkValue(column: ResolvedColumn, value: unknown): ValueCheck {
  if (value === undefined) return { ok: false, message: `${column.name} is missing` };
  if (value === null) return checkWireValue(column, null);
  if (column.kind === 'bytea' && !(value instanceof Uint8Array)) {
    return {
      ok: false,
      message: `${column.name} expects bytes (a Uint8Array), got ${describe(value)}`,
    };
  }
  let wire: JsonValue;
  try {
    wire = column.type.toWire(value as never);
  } catch {
    return {
      ok: false,
      message: `${column.name} expects a ${column.kind} value, got ${describe(value)}`,
    };
  }
  return checkWireValue(column, wire);
}

/**
 * Encodes the values of a row (by column name) to their wire form, for the
 * columns given. Values must already be checked.
 */
export function encodeValues(
  table: ResolvedTable,
  values: Readonly<Record<string, unknown>>,
  columns: readonly string[],
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const name of columns) {
    const column = table.column[name];
    const value = values[name];
    if (!column || value === undefined) continue;
    out[name] = encodeWireValue(column, value);
  }
  return out;
}
