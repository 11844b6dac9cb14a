import type { AnySyncConfig, ResolvedGroupTable, ResolvedTable } from '@carburetor/core';
import { CHANGE_MESSAGE_VERSION, CHANGE_VALUE_LIMIT } from '../realtime/change-message.ts';
import {
  CHANGES_CHANNEL,
  NOTIFY_NEW_ROWS,
  notifyFunctionName,
  notifyInsertTriggerName,
  notifyUpdateTriggerName,
  UPLOAD_SETTING,
} from './names.ts';
import { type Filter, filterKey, filterText, leftNowText } from './scope-exits.ts';
import { quoteIdent, quoteLiteral } from './sql-text.ts';

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

/** A group's scope on a table as the notify payload keys it: `<filter key>:<restriction column>`. */
export interface NotifyScope {
  readonly key: string;
  readonly filter: Filter;
  /** The restriction column, or undefined for an unrestricted group. */
  readonly column: string | undefined;
}

/** The key of a filtered scope in the payload's `s`; `column` is '' for an unrestricted group. */
export function notifyScopeKey(filter: Filter, column: string | undefined): string {
  return `${filterKey(filter)}:${column ?? ''}`;
}

/** The distinct filtered scopes the config's groups have on a table. */
export function filteredScopesOf(config: AnySyncConfig, table: ResolvedTable): NotifyScope[] {
  const scopes = new Map<string, NotifyScope>();
  for (const group of Object.values(config.groups)) {
    const entry = group.table[table.key] as ResolvedGroupTable | undefined;
    if (!entry?.filter || Object.keys(entry.filter).length === 0) continue;
    const column = entry.restrictTo?.column;
    const key = notifyScopeKey(entry.filter, column);
    scopes.set(key, { key, filter: entry.filter, column });
  }
  return [...scopes.values()];
}

/**
 * The function behind a table's two AFTER ... FOR EACH STATEMENT triggers:
 * for a write from outside Carburetor (an admin's SQL, a job), one
 * `pg_notify('carburetor_changes', message)` per statement that wrote rows
 * (rows the stamp trigger dropped as unchanged are not in the transition
 * table, so a no-op statement notifies nobody). An upload marks its
 * transaction (`carburetor.upload`, a transaction-local setting: reading it
 * takes no lock) and announces its changes itself after commit, so the
 * function returns at once there: no NOTIFY, whose queue lock PostgreSQL
 * holds from pre-commit to the end of commit, ever runs inside an upload.
 *
 * The message is a change message (realtime/change-message.ts) with one
 * table change: `{"t": "<sql table>", "r": {"<restriction column>": [values] | "*"},
 * "s": {"<filter key>:<restriction column or ''>": [values] | "*" | boolean}}`.
 * `r` lists the restriction values of every written row (for unfiltered
 * groups); `s` says, per filtered scope, which restriction values (or, for
 * an unrestricted group, whether any row) are in the filter or left it in
 * this transaction, so a filtered group's subscriber hears only of rows it
 * may see or must drop. `"*"` means more than {@link CHANGE_VALUE_LIMIT}
 * values, or a payload that would pass {@link NOTIFY_PAYLOAD_LIMIT} bytes.
 * PostgreSQL delivers it at commit (never for a rolled-back transaction)
 * and folds identical payloads of one transaction into one.
 */
export function notifyFunctionSql(config: AnySyncConfig, table: ResolvedTable): string {
  const rows = quoteIdent(NOTIFY_NEW_ROWS);
  const listValues = (column: string, where: string, into: string, key: string) => {
    const c = quoteIdent(column);
    return `  SELECT array_agg(v) INTO vals FROM (
    SELECT DISTINCT ${c}::text AS v FROM ${rows} WHERE ${c} IS NOT NULL${where} LIMIT ${CHANGE_VALUE_LIMIT + 1}
  ) d;
  ${into} := ${into} || jsonb_build_object(${quoteLiteral(key)},
    CASE WHEN cardinality(vals) > ${CHANGE_VALUE_LIMIT} THEN to_jsonb('*'::text) ELSE to_jsonb(coalesce(vals, '{}'::text[])) END);
  many_${into} := many_${into} || jsonb_build_object(${quoteLiteral(key)}, '*'::text);`;
  };
  const collect = restrictionColumnsOf(config, table)
    .map((column) => listValues(column, '', 'touched', column))
    .join('\n');
  const scoped = filteredScopesOf(config, table)
    .map(({ key, filter, column }) => {
      const inScope = `(${filterText(table, filter, rows)} OR ${leftNowText(filter, rows)})`;
      if (column !== undefined) return listValues(column, ` AND ${inScope}`, 'scoped', key);
      return `  scoped := scoped || jsonb_build_object(${quoteLiteral(key)}, EXISTS (SELECT FROM ${rows} WHERE ${inScope}));
  many_scoped := many_scoped || jsonb_build_object(${quoteLiteral(key)}, true);`;
    })
    .join('\n');
  const name = quoteLiteral(table.sqlName);
  const message = (change: string) =>
    `jsonb_build_object('v', ${CHANGE_MESSAGE_VERSION}, 'changes', jsonb_build_array(${change}))::text`;
  return `CREATE OR REPLACE FUNCTION ${quoteIdent(notifyFunctionName(table))}() RETURNS trigger
LANGUAGE plpgsql AS $carburetor$
DECLARE
  vals text[];
  touched jsonb := '{}'::jsonb;
  many_touched jsonb := '{}'::jsonb;
  scoped jsonb := '{}'::jsonb;
  many_scoped jsonb := '{}'::jsonb;
  payload text;
BEGIN
  IF current_setting(${quoteLiteral(UPLOAD_SETTING)}, true) = 'on' OR NOT EXISTS (SELECT FROM ${rows}) THEN
    RETURN NULL;
  END IF;
${collect}
${scoped}
  payload := ${message(`jsonb_build_object('t', ${name}, 'r', touched, 's', scoped)`)};
  IF octet_length(payload) > ${NOTIFY_PAYLOAD_LIMIT} THEN
    payload := ${message(`jsonb_build_object('t', ${name}, 'r', many_touched, 's', many_scoped)`)};
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
