import type { AnySyncConfig, ResolvedTable } from '@carburetor/core';
import {
  CHANGES_CHANNEL,
  NOTIFY_NEW_ROWS,
  notifyFunctionName,
  notifyInsertTriggerName,
  notifyUpdateTriggerName,
} from './names.ts';
import { quoteIdent, quoteLiteral } from './sql-text.ts';

/** Above this many distinct values of a restriction column, the payload says "many" (`"*"`). */
export const NOTIFY_VALUE_LIMIT = 100;

/**
 * Above this many bytes the payload drops its value lists for "many":
 * PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
 */
export const NOTIFY_PAYLOAD_LIMIT = 7900;

/** The restriction columns any group reads on a table, in config order. */
export function restrictionColumnsOf(config: AnySyncConfig, table: ResolvedTable): string[] {
  const columns = new Set<string>();
  for (const group of Object.values(config.groups)) {
    const column = group.table[table.key]?.restrictTo?.column;
    if (column !== undefined) columns.add(column);
  }
  return [...columns];
}

/**
 * The function behind a table's two AFTER ... FOR EACH STATEMENT triggers:
 * one `pg_notify('carburetor_changes', payload)` per statement that wrote
 * rows (rows the stamp trigger dropped as unchanged are not in the
 * transition table, so a no-op statement notifies nobody). The payload is
 * JSON: `{"t": "<sql table>", "r": {"<restriction column>": ["<value as text>", ...] | "*"}}`,
 * where `"*"` means more than {@link NOTIFY_VALUE_LIMIT} values, or a
 * payload that would pass {@link NOTIFY_PAYLOAD_LIMIT} bytes. PostgreSQL
 * delivers it at commit (never for a rolled-back transaction) and folds
 * identical payloads of one transaction into one.
 */
export function notifyFunctionSql(config: AnySyncConfig, table: ResolvedTable): string {
  const columns = restrictionColumnsOf(config, table);
  const collect = columns
    .map((column) => {
      const c = quoteIdent(column);
      return `  SELECT array_agg(v) INTO vals FROM (
    SELECT DISTINCT ${c}::text AS v FROM ${quoteIdent(NOTIFY_NEW_ROWS)} WHERE ${c} IS NOT NULL LIMIT ${NOTIFY_VALUE_LIMIT + 1}
  ) d;
  touched := touched || jsonb_build_object(${quoteLiteral(column)},
    CASE WHEN cardinality(vals) > ${NOTIFY_VALUE_LIMIT} THEN to_jsonb('*'::text) ELSE to_jsonb(coalesce(vals, '{}'::text[])) END);
  many := many || jsonb_build_object(${quoteLiteral(column)}, '*'::text);`;
    })
    .join('\n');
  const name = quoteLiteral(table.sqlName);
  return `CREATE OR REPLACE FUNCTION ${quoteIdent(notifyFunctionName(table))}() RETURNS trigger
LANGUAGE plpgsql AS $carburetor$
DECLARE
  vals text[];
  touched jsonb := '{}'::jsonb;
  many jsonb := '{}'::jsonb;
  payload text;
BEGIN
  IF NOT EXISTS (SELECT FROM ${quoteIdent(NOTIFY_NEW_ROWS)}) THEN
    RETURN NULL;
  END IF;
${collect}
  payload := jsonb_build_object('t', ${name}, 'r', touched)::text;
  IF octet_length(payload) > ${NOTIFY_PAYLOAD_LIMIT} THEN
    payload := jsonb_build_object('t', ${name}, 'r', many)::text;
  END IF;
  PERFORM pg_notify(${quoteLiteral(CHANGES_CHANNEL)}, payload);
  RETURN NULL;
END
$carburetor$`;
}

/** Both notify triggers: [insert, update]. Transition tables allow one event per trigger. */
export function notifyTriggersSql(table: ResolvedTable): { name: string; sql: string }[] {
  return [
    { name: notifyInsertTriggerName, event: 'INSERT' },
    { name: notifyUpdateTriggerName, event: 'UPDATE' },
  ].map(({ name, event }) => ({
    name,
    sql: `CREATE OR REPLACE TRIGGER ${quoteIdent(name)} AFTER ${event} ON ${quoteIdent(table.sqlName)} REFERENCING NEW TABLE AS ${quoteIdent(NOTIFY_NEW_ROWS)} FOR EACH STATEMENT EXECUTE FUNCTION ${quoteIdent(notifyFunctionName(table))}()`,
  }));
}

/** `pg_trigger.tgtype` of the notify triggers (STATEMENT, AFTER): INSERT, UPDATE. */
export const NOTIFY_TRIGGER_TYPES: Readonly<Record<string, number>> = {
  [notifyInsertTriggerName]: 4,
  [notifyUpdateTriggerName]: 16,
};
