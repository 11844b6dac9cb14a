import type { ResolvedTable } from '@carburetor/core';

/**
 * Names of what Carburetor adds to the PostgreSQL schema. Everything it owns
 * starts with `_carburetor` (user columns may not), so it never collides
 * with the app's own objects.
 */

/** Hidden column: the id of the transaction that last wrote the row (`xid8`), the download cursor. */
export const XID_COLUMN = '_carburetor_xid';

/**
 * Hidden column: per group filter the row left, the transaction that made it
 * leave (`{"<filter key>": "<xid>"}`, see scope-exits.ts); null for a row
 * that never left one.
 */
export const EXITS_COLUMN = '_carburetor_exits';

/** Transaction-local setting an upload sets to 'on', so the trigger knows it is not an outside write. */
export const UPLOAD_SETTING = 'carburetor.upload';

/** Transaction-local setting that allows a hard DELETE (explicit tombstone purge only). */
export const PURGE_SETTING = 'carburetor.purge';

/** Client id recorded in column metadata for writes made outside Carburetor (plain SQL). */
export { SERVER_CLIENT_ID } from '@carburetor/core';

/** Key of the advisory lock that serializes migrations. */
export const MIGRATION_LOCK_KEY = 'carburetor.migrate';

/** The row trigger of a table: stamps cursor, last-synced-at and outside writes' metadata. */
export const stampTriggerName = '_carburetor_stamp';
/** The trigger that refuses a hard DELETE. */
export const deleteTriggerName = '_carburetor_no_delete';
/** The function behind every table's delete trigger (one, shared: it reads its arguments). */
export const DELETE_GUARD_FUNCTION = '_carburetor_no_delete';

/** Per-table function behind the stamp trigger. */
export function stampFunctionName(table: ResolvedTable): string {
  return `_carburetor_stamp_${table.sqlName}`.slice(0, 63);
}

/** Index on (xid, id): the unrestricted download walks it. */
export function xidIndexName(table: ResolvedTable): string {
  return `${table.sqlName}_carburetor_xid_idx`.slice(0, 63);
}

/** Index on (restriction column, xid, id): a restricted download walks it. */
export function scopedXidIndexName(table: ResolvedTable, column: string): string {
  return `${table.sqlName}_${column}_carburetor_xid_idx`.slice(0, 63);
}

/** SQL expression of the current server time as a write time (ms * 1000 + counter). */
export const SERVER_WRITE_TIME_SQL = `(floor(extract(epoch from clock_timestamp()) * 1000)::bigint * 1000)`;

/** The NOTIFY channel on which every table's change trigger announces a statement's changes. */
export const CHANGES_CHANNEL = 'carburetor_changes';
/** The statement trigger that announces inserts (transition tables allow one event per trigger). */
export const notifyInsertTriggerName = '_carburetor_notify_insert';
/** The statement trigger that announces updates. */
export const notifyUpdateTriggerName = '_carburetor_notify_update';
/** Name of the transition table (the statement's new rows) inside the notify function. */
export const NOTIFY_NEW_ROWS = '_carburetor_new';

/** Per-table function behind both notify triggers. */
export function notifyFunctionName(table: ResolvedTable): string {
  return `_carburetor_notify_${table.sqlName}`.slice(0, 63);
}
