import type { JsonValue } from '../config/column-types.ts';
import type { ResolvedColumn, ResolvedGroupTable } from '../config/resolved.ts';
import { encodeWireValue } from '../protocol/value-codec.ts';

/**
 * Scope: which rows of a table a group holds for a caller — those whose
 * restriction column equals the caller's context value and whose filter
 * columns equal the filter's values. The server's download, upload
 * authorization and realtime, and the client's local scope checks, all
 * compare values through {@link scopeValueKey}, so they agree on equality.
 */

const NULL_KEY = '\u0000';
const OUTSIDE_DOMAIN = '\u0000\u0000';

/**
 * One text per value of a column such that two wire values are equal in
 * PostgreSQL exactly when their keys are: timestamps in canonical form,
 * uuids in lowercase, integers and decimals by value, JSON with sorted keys.
 * A value outside its type's domain keys as its own text (it equals only
 * itself).
 *
 * @example
 * ```ts
 * scopeValueKey(numericColumn, '1.50') === scopeValueKey(numericColumn, '1.5'); // true
 * ```
 */
export function scopeValueKey(column: ResolvedColumn, wire: JsonValue | undefined): string {
  // Keys of valid values never hold a NUL (text cannot), so these two cannot meet one.
  if (wire === null || wire === undefined) return NULL_KEY;
  if (column.type.checkWire(wire) !== undefined) {
    return `${OUTSIDE_DOMAIN}${typeof wire === 'string' ? wire : JSON.stringify(wire)}`;
  }
  switch (column.kind) {
    case 'timestamptz':
    case 'uuid':
      return String(column.type.fromWire(wire));
    case 'bigint':
      return BigInt(String(wire)).toString();
    case 'numeric':
      return canonicalDecimalValue(String(wire));
    case 'jsonb':
      return stableJson(wire);
    default:
      return typeof wire === 'string' ? wire : JSON.stringify(wire);
  }
}

/**
 * A caller's context value in the wire form of the restriction column it is
 * compared with: a number for integer and double columns, text otherwise.
 */
export function contextValueWire(column: ResolvedColumn, value: string | number): JsonValue {
  if (column.kind === 'integer' || column.kind === 'double') return Number(value);
  return String(value);
}

/** Why a row (its synced values in wire form) is outside a group's scope, or undefined when inside. */
export type ScopeMiss =
  | { readonly reason: 'restriction'; readonly column: ResolvedColumn }
  | { readonly reason: 'filter'; readonly column: ResolvedColumn };

/**
 * Checks a row against a group's entry for a table: its restriction (with
 * the caller's context value, when the group has one) and its filter.
 *
 * @example
 * ```ts
 * const miss = scopeMiss(group.table.contact!, { userId: 'u1' }, (name) => row[name]);
 * if (miss) console.log(`outside by its ${miss.column.name}`);
 * ```
 */
export function scopeMiss(
  entry: ResolvedGroupTable,
  contextValues: Readonly<Record<string, string | number>>,
  wireOf: (column: string) => JsonValue | undefined,
): ScopeMiss | undefined {
  const { table, restrictTo, filter } = entry;
  if (restrictTo) {
    const column = table.column[restrictTo.column]!;
    const value = contextValues[restrictTo.context];
    const wanted = value === undefined ? undefined : contextValueWire(column, value);
    if (
      wanted === undefined ||
      scopeValueKey(column, wireOf(column.name)) !== scopeValueKey(column, wanted)
    ) {
      return { reason: 'restriction', column };
    }
  }
  for (const [name, value] of Object.entries(filter ?? {})) {
    const column = table.column[name]!;
    const wanted = encodeWireValue(column, value);
    if (scopeValueKey(column, wireOf(name)) !== scopeValueKey(column, wanted)) {
      return { reason: 'filter', column };
    }
  }
  return undefined;
}

function stableJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(value[k]!)}`).join(',')}}`;
}

/** A decimal by value: `1.50` and `1.5`, `-0` and `0` are one key. */
function canonicalDecimalValue(text: string): string {
  const negative = text.startsWith('-');
  let [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  whole = whole.replace(/^0+(?=\d)/, '');
  fraction = fraction.replace(/0+$/, '');
  const digits = fraction ? `${whole}.${fraction}` : whole;
  return negative && digits !== '0' ? `-${digits}` : digits;
}
