import {
  encodeWireValue,
  type JsonValue,
  type ResolvedColumn,
  type ResolvedGroup,
  type ResolvedTable,
  scopeMiss,
} from '@carburetor/core';
import type { Replica } from '../replica/replica.ts';

/** A value in a comparable wire form (timestamps normalized, uuids lowercased). */
function comparable(column: ResolvedColumn, value: unknown): JsonValue | undefined {
  try {
    return encodeWireValue(column, value);
  } catch {
    return undefined;
  }
}

/**
 * Records the restriction values of a row the server confirmed in a group's
 * scope. Restrictions compare a column with the caller's context (say
 * `userId`), which the client is never told; but restriction columns are
 * immutable, so any confirmed row reveals the value for good. Returns
 * whether something new was learned.
 */
export function learnScope(
  replica: Replica,
  group: ResolvedGroup,
  table: ResolvedTable,
  values: Readonly<Record<string, unknown>>,
): boolean {
  const restrictTo = group.table[table.key]?.restrictTo;
  if (!restrictTo) return false;
  const column = table.column[restrictTo.column];
  if (!column) return false;
  const value = comparable(column, values[restrictTo.column]);
  if (value === undefined) return false;
  return replica.learnScope(group.name, restrictTo.context, value);
}

/**
 * Whether a local row passes a group's filter and (as far as learned) its
 * restriction: core's scope check, the server's own, with the learned
 * restriction value standing in for the caller's context.
 */
export function inGroupScope(
  replica: Replica,
  group: ResolvedGroup,
  table: ResolvedTable,
  values: Readonly<Record<string, unknown>>,
): boolean {
  const entry = group.table[table.key];
  if (!entry) return false;
  const context: Record<string, string | number> = {};
  if (entry.restrictTo) {
    const learned = replica.learnedScope(group.name)?.[entry.restrictTo.context];
    // Nothing confirmed in that group yet: the row is not known to be in it.
    if (typeof learned !== 'string' && typeof learned !== 'number') return false;
    context[entry.restrictTo.context] = learned;
  }
  const wireOf = (name: string) => {
    const column = table.column[name];
    return column ? comparable(column, values[name]) : undefined;
  };
  return scopeMiss(entry, context, wireOf) === undefined;
}
