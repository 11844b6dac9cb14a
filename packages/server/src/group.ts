import type { AnySyncConfig, ResolvedGroup, ResolvedGroupTable } from '@carburetor/core';
import { CarburetorServerError } from './errors.ts';

/**
 * The group a request names.
 *
 * @throws {CarburetorServerError} `bad_request` naming the groups there are.
 */
export function groupOf(config: AnySyncConfig, groupName: string): ResolvedGroup {
  const group = (config.groups as Record<string, ResolvedGroup | undefined>)[groupName];
  if (!group) {
    throw new CarburetorServerError(
      'bad_request',
      `Unknown sync group "${groupName}"; the groups are: ${Object.keys(config.groups).join(', ')}.`,
    );
  }
  return group;
}

/**
 * A table of the group, by key.
 *
 * @throws {CarburetorServerError} `bad_request` naming the group's tables.
 */
export function groupTableOf(group: ResolvedGroup, key: string): ResolvedGroupTable {
  const entry = group.table[key];
  if (!entry) {
    throw new CarburetorServerError(
      'bad_request',
      `Sync group "${group.name}" has no table "${key}"; its tables are ${group.tables.map((t) => t.table.key).join(', ')}.`,
      { table: key },
    );
  }
  return entry;
}
