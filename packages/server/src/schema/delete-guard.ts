import type { ResolvedTable } from '@carburetor/core';
import { DELETE_GUARD_FUNCTION, deleteTriggerName, PURGE_SETTING } from './names.ts';
import { quoteIdent, quoteLiteral } from './sql-text.ts';

/**
 * One function behind every table's BEFORE DELETE trigger: a hard DELETE
 * would hide the deletion from replicas, so it is refused unless the
 * transaction set `carburetor.purge` (as `purgeDeletedRows` does). Its
 * arguments are the table's deleted-flag and id column names.
 */
export function deleteGuardFunctionSql(): string {
  return `CREATE OR REPLACE FUNCTION ${quoteIdent(DELETE_GUARD_FUNCTION)}() RETURNS trigger
LANGUAGE plpgsql AS $carburetor$
BEGIN
  IF current_setting(${quoteLiteral(PURGE_SETTING)}, true) IS DISTINCT FROM 'on' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'restrict_violation',
      MESSAGE = format('Cannot DELETE row %s of table %s: Carburetor keeps deleted rows so that replicas learn of the deletion. Set %s = true instead.',
        quote_literal(to_jsonb(OLD) ->> TG_ARGV[1]), TG_TABLE_NAME, TG_ARGV[0]),
      HINT = 'Old tombstones are removed with purgeDeletedRows().';
  END IF;
  RETURN OLD;
END
$carburetor$`;
}

/** The table's delete trigger. */
export function deleteTriggerSql(table: ResolvedTable): string {
  return `CREATE OR REPLACE TRIGGER ${quoteIdent(deleteTriggerName)} BEFORE DELETE ON ${quoteIdent(table.sqlName)} FOR EACH ROW EXECUTE FUNCTION ${quoteIdent(DELETE_GUARD_FUNCTION)}(${deleteTriggerArgs(table).map(quoteLiteral).join(', ')})`;
}

/** The delete trigger's arguments: deleted-flag column, id column. */
export function deleteTriggerArgs(table: ResolvedTable): string[] {
  return [table.isDeleted, table.id];
}

/** `pg_trigger.tgtype` of the delete trigger: ROW | BEFORE | DELETE. */
export const DELETE_TRIGGER_TYPE = 1 | 2 | 8;
