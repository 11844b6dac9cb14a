import type { AnySyncConfig, ResolvedTable } from '@carburetor/core';
import {
  SERVER_CLIENT_ID,
  SERVER_WRITE_TIME_SQL,
  stampFunctionName,
  stampTriggerName,
  UPLOAD_SETTING,
  XID_COLUMN,
} from './names.ts';
import { recordExitsSql } from './scope-exits.ts';
import { quoteIdent, quoteLiteral } from './sql-text.ts';

/**
 * The function behind a table's BEFORE INSERT OR UPDATE row trigger
 * (docs/sync-semantics.md §5). On every write from any source it stamps the cursor column with the
 * writing transaction's id and last-synced-at with `now()`; it drops updates
 * that change nothing and refuses un-deletes; and outside an upload it
 * stamps each changed synced column's metadata with server time, one past
 * the stamp it replaces, so an admin's fix beats what replicas hold. An
 * update that takes the row out of a group's filter records the exit
 * (scope-exits.ts), whoever writes.
 */
export function stampFunctionSql(config: AnySyncConfig, table: ResolvedTable): string {
  const q = quoteIdent;
  const meta = q(table.columnSyncMetadata);
  const serverStamp = (t: string) =>
    `jsonb_build_object('t', ${t}, 'c', ${quoteLiteral(SERVER_CLIENT_ID)})`;
  const onInsert = table.syncedColumns
    .map((name) => {
      const key = quoteLiteral(name);
      return `      IF NOT meta ? ${key} THEN
        meta := meta || jsonb_build_object(${key}, ${serverStamp('write_time')});
      END IF;`;
    })
    .join('\n');
  const onUpdate = table.syncedColumns
    .map((name) => {
      const key = quoteLiteral(name);
      return `      IF NEW.${q(name)} IS DISTINCT FROM OLD.${q(name)} THEN
        meta := meta || jsonb_build_object(${key}, ${serverStamp(
          `greatest(write_time, coalesce((old_meta -> ${key} ->> 't')::numeric::bigint + 1, 0))`,
        )});
      END IF;`;
    })
    .join('\n');
  return `CREATE OR REPLACE FUNCTION ${q(stampFunctionName(table))}() RETURNS trigger
LANGUAGE plpgsql AS $carburetor$
DECLARE
  write_time bigint;
  meta jsonb;
  old_meta jsonb;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- Compare everything but what this trigger stamps: an update that changes nothing is dropped.
    NEW.${q(XID_COLUMN)} := OLD.${q(XID_COLUMN)};
    NEW.${q(table.lastSyncedAt)} := OLD.${q(table.lastSyncedAt)};
    IF NEW *= OLD THEN
      RETURN NULL;
    END IF;
    -- The deleted flag is one-way: core's mayBecome (core/src/rules/deleted-flag.ts, sync-semantics §5).
    IF OLD.${q(table.isDeleted)} AND NOT NEW.${q(table.isDeleted)} THEN
      RAISE EXCEPTION USING
        ERRCODE = 'check_violation',
        MESSAGE = format('Cannot un-delete row %s of table %s: deletion is permanent in Carburetor (%s never goes back to false).',
          quote_literal(OLD.${q(table.id)}), ${quoteLiteral(table.sqlName)}, ${quoteLiteral(table.isDeleted)}),
        HINT = 'Insert a new row instead.';
    END IF;
${recordExitsSql(config, table)}
  END IF;
  NEW.${q(XID_COLUMN)} := pg_current_xact_id();
  NEW.${q(table.lastSyncedAt)} := now();
  IF current_setting(${quoteLiteral(UPLOAD_SETTING)}, true) IS DISTINCT FROM 'on' THEN
    write_time := ${SERVER_WRITE_TIME_SQL};
    meta := coalesce(NEW.${meta}, '{}'::jsonb);
    IF TG_OP = 'INSERT' THEN
${onInsert}
    ELSE
      old_meta := coalesce(OLD.${meta}, '{}'::jsonb);
${onUpdate}
    END IF;
    NEW.${meta} := meta;
  END IF;
  RETURN NEW;
END
$carburetor$`;
}

/** The stamp trigger itself (replaced, which keeps its name and place). */
export function stampTriggerSql(table: ResolvedTable): string {
  return `CREATE OR REPLACE TRIGGER ${quoteIdent(stampTriggerName)} BEFORE INSERT OR UPDATE ON ${quoteIdent(table.sqlName)} FOR EACH ROW EXECUTE FUNCTION ${quoteIdent(stampFunctionName(table))}()`;
}

/** `pg_trigger.tgtype` of the stamp trigger: ROW | BEFORE | INSERT | UPDATE. */
export const STAMP_TRIGGER_TYPE = 1 | 2 | 4 | 16;
