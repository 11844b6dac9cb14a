import {
  describeValue,
  type JsonValue,
  type ResolvedColumn,
  type ResolvedGroupTable,
  type ResolvedTable,
  type RowState,
} from '@carburetor/core';
import { CarburetorServerError } from '../errors.ts';
import { valueKey } from './resolved-rows.ts';

/** The caller's scope in one table of a group: the restriction and the filter, ready to compare. */
export interface TableScope {
  readonly table: ResolvedTable;
  /** The restriction column and the caller's value for it, or undefined when unrestricted. */
  readonly restriction:
    | { readonly column: ResolvedColumn; readonly wire: JsonValue; readonly key: string }
    | undefined;
  /** Filter columns and the wire value each must have. */
  readonly filter: readonly { readonly column: ResolvedColumn; readonly wire: JsonValue }[];
}

// Matches no stored value: a context value that is not even of the column's type.
const NO_MATCH = '\u0000no match';

function contextWire(column: ResolvedColumn, value: string | number): JsonValue {
  if (column.kind === 'integer' || column.kind === 'double') return Number(value);
  return String(value);
}

/**
 * The caller's scope in a table of a group, from the group's `restrictTo`
 * and `filter` and the caller's context values.
 *
 * @throws {CarburetorServerError} `unauthorized` when the context lacks the
 * value the restriction needs.
 */
export function tableScope(
  entry: ResolvedGroupTable,
  groupName: string,
  contextValues: Readonly<Record<string, string | number>>,
): TableScope {
  const { table } = entry;
  let restriction: TableScope['restriction'];
  if (entry.restrictTo) {
    const value = contextValues[entry.restrictTo.context];
    if (value === undefined || value === null) {
      throw new CarburetorServerError(
        'unauthorized',
        `Group "${groupName}" restricts ${table.key} to the caller's "${entry.restrictTo.context}", but the context has no "${entry.restrictTo.context}"; return it from the router's context function.`,
        { table: table.sqlName, column: entry.restrictTo.column },
      );
    }
    const column = table.column[entry.restrictTo.column]!;
    const wire = contextWire(column, value);
    let key: string;
    try {
      key = valueKey(column, wire);
    } catch {
      key = NO_MATCH;
    }
    restriction = { column, wire, key };
  }
  const filter = Object.entries(entry.filter ?? {}).map(([name, value]) => {
    const column = table.column[name]!;
    const wire = value === null ? null : column.type.toWire(value as never);
    return { column, wire };
  });
  return { table, restriction, filter };
}

/** Why a row is outside the caller's scope, or undefined when it is inside. */
export function outOfScope(scope: TableScope, row: RowState): string | undefined {
  const { restriction } = scope;
  if (restriction) {
    const value = row[restriction.column.name]?.value as JsonValue | undefined;
    if (valueKey(restriction.column, value) !== restriction.key) {
      return `its ${restriction.column.name} is ${describeValue(value)}, not yours (${describeValue(restriction.wire)})`;
    }
  }
  for (const { column, wire } of scope.filter) {
    const value = row[column.name]?.value as JsonValue | undefined;
    if (valueKey(column, value) !== valueKey(column, wire)) {
      return `its ${column.name} is ${describeValue(value)}, but the group only holds rows whose ${column.name} is ${describeValue(wire)}`;
    }
  }
  return undefined;
}

/** The first immutable column whose incoming value differs from the stored one. */
export function changedImmutable(
  table: ResolvedTable,
  stored: RowState,
  incoming: RowState,
): ResolvedColumn | undefined {
  for (const column of table.dataColumns) {
    if (!column.immutable) continue;
    const theirs = incoming[column.name];
    if (theirs === undefined) continue;
    const ours = stored[column.name]?.value as JsonValue | undefined;
    if (valueKey(column, theirs.value as JsonValue) !== valueKey(column, ours)) return column;
  }
  return undefined;
}
