import {
  type AnySyncConfig,
  encodeWireValue,
  type JsonValue,
  type ResolvedTable,
  type RowState,
  scopeValueKey,
} from '@carburetor/core';
import {
  CHANGE_VALUE_LIMIT,
  restrictionValueText,
  type TableChange,
} from '../realtime/change-message.ts';
import { filteredScopesOf, restrictionColumnsOf } from '../schema/notify-trigger.ts';
import type { Filter } from '../schema/scope-exits.ts';

/** A row an upload wrote: as stored before (undefined for a new row) and after. */
export interface WrittenRow {
  readonly before: RowState | undefined;
  readonly after: RowState;
}

/** Announces upload writes after commit; a {@link ChangeHub} is one. */
export interface ChangeAnnouncement {
  announce(changes: readonly TableChange[]): void;
  /** An upload began; the function returned says it ended (see `ChangeHub.uploadStarted`). */
  uploadStarted?(): () => void;
}

/**
 * What an upload changed in a table, as the notify trigger would have said
 * it for the same rows: the restriction values of the written rows and, per
 * filtered scope, those of the rows in the filter or leaving it (in it
 * before, out of it after), so a subscriber hears only of rows it may see
 * or must drop.
 */
export function tableChangeOf(
  config: AnySyncConfig,
  table: ResolvedTable,
  rows: readonly WrittenRow[],
): TableChange {
  const r: Record<string, string[] | '*'> = {};
  for (const column of restrictionColumnsOf(config, table)) {
    r[column] = valuesOf(table, column, rows);
  }
  const s: Record<string, string[] | '*' | boolean> = {};
  for (const { key, filter, column } of filteredScopesOf(config, table)) {
    const concerned = rows.filter(
      ({ before, after }) =>
        passes(table, filter, after) || (before !== undefined && passes(table, filter, before)),
    );
    s[key] = column === undefined ? concerned.length > 0 : valuesOf(table, column, concerned);
  }
  return { t: table.sqlName, r, s };
}

function valuesOf(table: ResolvedTable, column: string, rows: readonly WrittenRow[]) {
  const kind = table.column[column]?.kind;
  const values = new Set<string>();
  for (const { after } of rows) {
    const value = after[column]?.value;
    if (value === null || value === undefined) continue;
    values.add(restrictionValueText(kind, value));
    if (values.size > CHANGE_VALUE_LIMIT) return '*';
  }
  return [...values];
}

/** Whether a row passes a group filter, compared as the download's SQL compares. */
function passes(table: ResolvedTable, filter: Filter, row: RowState): boolean {
  return Object.entries(filter).every(([name, wanted]) => {
    const column = table.column[name]!;
    const value = row[name]?.value as JsonValue | undefined;
    return scopeValueKey(column, value) === scopeValueKey(column, encodeWireValue(column, wanted));
  });
}
