import type { ResolvedTable } from '@carburetor/core';

/**
 * Names of what Carburetor adds to the replica. Everything it owns starts with
 * `_carburetor_`, which config names may not use for columns, so it never
 * collides with the app's tables.
 */

/** Key/value state of the replica: the client id, the clock, learned scope values. */
export const STATE_TABLE = '_carburetor_state';
/** Download cursor per (group, table). */
export const CURSOR_TABLE = '_carburetor_cursors';
/** Rows the server refused, with its code and message. */
export const REJECTED_TABLE = '_carburetor_rejected';

/** Ids a reset download pass has delivered so far, per (group, table). */
export const SEEN_TABLE = '_carburetor_seen';

/** State keys. */
export const CLIENT_ID_KEY = 'client_id';
export const CLOCK_KEY = 'clock';
/** Whose replica this is (`createSyncClient`'s `identity`). */
export const IDENTITY_KEY = 'identity';
/** Restriction values the server confirmed for a group (see `sync/scope.ts`). */
export const scopeKey = (group: string): string => `scope:${group}`;

/** Marks a group downloaded to its end at least once (`status.hasSynced`); the value is when. */
export const caughtUpKey = (group: string): string => `caught_up:${group}`;

/** The progress of a first download of (group, table) under way: `{ done, expected, atLeast }` as JSON. */
export const progressKey = (group: string, table: string): string => `progress:${group}:${table}`;

/** Marks a reset download pass in progress for (group, table). */
export const sweepKey = (group: string, table: string): string => `sweep:${group}:${table}`;

/** The table a rebuild fills before it replaces the real one. */
export function rebuildTableName(table: ResolvedTable): string {
  return `_carburetor_rebuild_${table.sqlName}`;
}

/** Partial index over the dirty rows: the upload queue. */
export function dirtyIndexName(table: ResolvedTable): string {
  return `${table.sqlName}_carburetor_dirty_idx`;
}

/** A SQLite identifier, quoted. */
export function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
