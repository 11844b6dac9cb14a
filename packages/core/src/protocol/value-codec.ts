import type { JsonValue } from '../config/column-types.ts';
import type { ResolvedColumn } from '../config/resolved.ts';
import { isDeleted } from '../rules/deleted-flag.ts';

/*
 * One column value's codec between the app and the wire, said once: the
 * server's upload answers encode with it, the client's uploads too, and the
 * client decodes both upload answers and download pages with it. Per column
 * kind the rule is the column type's `toWire` / `fromWire`
 * (config/column-types.ts); this module adds what is the same for every
 * kind (null, the deleted flag) and what PostgreSQL's values need.
 *
 * Its SQL twin is the server's `download/wire-value-sql.ts`, which builds a
 * download page's wire values inside PostgreSQL;
 * `server/src/__tests__/wire-value.property.test.ts` checks they agree for
 * random values of every kind.
 */

/**
 * An app value → its wire value: null (or a missing value) as null, the
 * deleted flag as {@link isDeleted} says, any other column by its type.
 *
 * @throws when the value is not of the column's type (`toWire` cannot read it).
 * @example
 * ```ts
 * encodeWireValue(table.column.photo, new Uint8Array([1, 2])); // 'AQI='
 * ```
 */
export function encodeWireValue(column: ResolvedColumn, value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (column.role === 'isDeleted') return isDeleted(value);
  return column.type.toWire(value as never);
}

/**
 * A wire value (already checked against the column) → the app value: the
 * inverse of {@link encodeWireValue}.
 *
 * @example
 * ```ts
 * decodeWireValue(table.column.photo, 'AQI='); // Uint8Array [1, 2]
 * ```
 */
export function decodeWireValue(column: ResolvedColumn, wire: JsonValue | undefined): unknown {
  if (wire === null || wire === undefined) return null;
  if (column.role === 'isDeleted') return isDeleted(wire);
  return column.type.fromWire(wire);
}

/**
 * A number JSON cannot carry (NaN, ±Infinity, which an outside write can
 * store in a double column) as its text, so it is not sent as null: the
 * replica's value check refuses the text and quarantines the row. Anything
 * else is returned as it is.
 *
 * @example
 * ```ts
 * nonFiniteAsText(Number.NaN); // 'NaN'
 * ```
 */
export function nonFiniteAsText(wire: JsonValue): JsonValue {
  return typeof wire === 'number' && !Number.isFinite(wire) ? String(wire) : wire;
}

/**
 * A value as the server's PostgreSQL driver returns it (exact parsers) → its
 * wire value. A value outside what Carburetor keeps (a BC date, `infinity`,
 * NaN) goes as PostgreSQL's own text: the replica's value check refuses it
 * and quarantines the row, and nothing here throws.
 *
 * @example
 * ```ts
 * wireValueOfPg(table.column.at, '2026-11-25 15:41:05.1234+00'); // '2026-11-25T15:41:05.123400Z'
 * ```
 */
export function wireValueOfPg(column: ResolvedColumn, raw: unknown): JsonValue {
  if (raw === null || raw === undefined) return null;
  let wire: JsonValue;
  try {
    wire = column.type.toWire(column.type.fromPg(raw) as never);
  } catch {
    return typeof raw === 'string' ? raw : String(raw);
  }
  return nonFiniteAsText(wire);
}

/**
 * A wire value (not null) as the text PostgreSQL casts to the column's
 * type: a string as it is, anything else as JSON.
 *
 * @example
 * ```ts
 * `CAST(${quoteLiteral(wireValueText(wire))} AS ${column.type.pg})`;
 * ```
 */
export function wireValueText(wire: JsonValue): string {
  return typeof wire === 'string' ? wire : JSON.stringify(wire);
}
