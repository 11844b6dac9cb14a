import {
  contextValueWire,
  describeValue,
  encodeWireValue,
  type JsonValue,
  type ResolvedColumn,
  type ResolvedGroupTable,
  type ResolvedTable,
  type RowState,
  scopeMiss,
  scopeValueKey,
} from '@carburetor/core';
import { CarburetorServerError } from '../errors.ts';

/** The caller's scope in one table of a group: the restriction and the filter, ready to compare. */
export interface TableScope {
  readonly entry: ResolvedGroupTable;
  readonly table: ResolvedTable;
  readonly contextValues: Readonly<Record<string, string | number>>;
  /** The restriction column and the caller's value for it, or undefined when unrestricted. */
  readonly restriction: { readonly column: ResolvedColumn; readonly wire: JsonValue } | undefined;
  /** Filter columns and the wire value each must have. */
  readonly filter: readonly { readonly column: ResolvedColumn; readonly wire: JsonValue }[];
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
    restriction = { column, wire: contextValueWire(column, value) };
  }
  const filter = Object.entries(entry.filter ?? {}).map(([name, value]) => {
    const column = table.column[name]!;
    return { column, wire: encodeWireValue(column, value) };
  });
  return { entry, table, contextValues, restriction, filter };
}

/** Why a row is outside the caller's scope (naming the caller's own values only), or undefined. */
export function outOfScope(scope: TableScope, row: RowState): string | undefined {
  const wireOf = (name: string) => row[name]?.value as JsonValue | undefined;
  const miss = scopeMiss(scope.entry, scope.contextValues, wireOf);
  if (miss === undefined) return undefined;
  const { name } = miss.column;
  if (miss.reason === 'restriction') {
    return `its ${name} is ${describeValue(wireOf(name))}, not yours (${describeValue(scope.restriction?.wire)})`;
  }
  const wanted = scope.filter.find((f) => f.column.name === name)?.wire;
  return `its ${name} is ${describeValue(wireOf(name))}, but the group only holds rows whose ${name} is ${describeValue(wanted)}`;
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
    if (scopeValueKey(column, theirs.value as JsonValue) !== scopeValueKey(column, ours)) {
      return column;
    }
  }
  return undefined;
}
