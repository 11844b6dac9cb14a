import type { AnySyncConfig, ResolvedTable } from '@carburetor/core';
import { CarburetorServerError } from '../errors.ts';
import type { Catalog, CatalogTable } from './catalog.ts';
import {
  DELETE_TRIGGER_TYPE,
  deleteGuardFunctionSql,
  deleteTriggerArgs,
  deleteTriggerSql,
} from './delete-guard.ts';
import {
  DELETE_GUARD_FUNCTION,
  deleteTriggerName,
  NOTIFY_NEW_ROWS,
  notifyFunctionName,
  scopedXidIndexName,
  stampFunctionName,
  stampTriggerName,
  XID_COLUMN,
  xidIndexName,
} from './names.ts';
import {
  NOTIFY_TRIGGER_TYPES,
  notifyFunctionSql,
  notifyTriggersSql,
  restrictionColumnsOf,
} from './notify-trigger.ts';
import { type ServerColumn, serverColumns } from './server-columns.ts';
import { quoteIdent } from './sql-text.ts';
import { STAMP_TRIGGER_TYPE, stampFunctionSql, stampTriggerSql } from './stamp-trigger.ts';

/** What a migration would do: the problems that forbid it, or the DDL to run. */
export interface MigrationPlan {
  readonly problems: CarburetorServerError[];
  /** DDL in order: tables and columns, functions, triggers, indexes. */
  readonly statements: string[];
}

/** An index the config needs on a table. */
export interface IndexSpec {
  readonly name: string;
  readonly columns: readonly string[];
}

/** The indexes a table needs: (xid, id), and (restriction column, xid, id) per restriction used. */
export function indexesOf(config: AnySyncConfig, table: ResolvedTable): IndexSpec[] {
  const indexes: IndexSpec[] = [{ name: xidIndexName(table), columns: [XID_COLUMN, table.id] }];
  for (const column of restrictionColumnsOf(config, table)) {
    indexes.push({
      name: scopedXidIndexName(table, column),
      columns: [column, XID_COLUMN, table.id],
    });
  }
  return indexes;
}

function columnDdl(column: ServerColumn): string {
  let ddl = `${quoteIdent(column.name)} ${column.pg}`;
  if (column.notNull) ddl += ' NOT NULL';
  if (column.defaultSql !== undefined) ddl += ` DEFAULT ${column.defaultSql}`;
  return ddl;
}

/**
 * Compares the config with the catalog. Append-only: it creates missing
 * tables, adds missing columns, relaxes NOT NULL where the config says
 * nullable and adds missing defaults; anything else that differs is a
 * problem, and a plan with problems runs nothing.
 */
export function planMigration(config: AnySyncConfig, catalog: Catalog): MigrationPlan {
  const problems: CarburetorServerError[] = [];
  const statements: string[] = [];
  const triggers: string[] = [];
  const indexes: string[] = [];
  if (catalog.schema === '') {
    problems.push(
      new CarburetorServerError(
        'no_schema',
        'No schema in the search_path exists, so there is nowhere to create the tables; set search_path (e.g. to public).',
      ),
    );
    return { problems, statements };
  }
  for (const table of Object.values(config.tables) as ResolvedTable[]) {
    const existing = catalog.tables.get(table.sqlName);
    const columns = serverColumns(table);
    if (!existing) {
      const body = [...columns.map(columnDdl), `PRIMARY KEY (${quoteIdent(table.id)})`];
      statements.push(`CREATE TABLE ${quoteIdent(table.sqlName)} (\n  ${body.join(',\n  ')}\n)`);
    } else if (existing.kind !== 'r' && existing.kind !== 'p') {
      problems.push(
        new CarburetorServerError(
          'not_a_table',
          `"${table.sqlName}" exists in schema "${catalog.schema}" but is not a table (relkind ${existing.kind}); rename it or give the table "${table.key}" another plural.`,
          { table: table.sqlName, expected: 'table', found: `relkind ${existing.kind}` },
        ),
      );
      continue;
    } else {
      statements.push(...alterTable(table, existing, columns, problems));
    }
    const triggerState = existing?.triggers;
    const stamp = triggerState?.get(stampTriggerName);
    if (
      !stamp ||
      stamp.functionName !== stampFunctionName(table) ||
      stamp.type !== STAMP_TRIGGER_TYPE ||
      stamp.args.length !== 0 ||
      !stamp.enabled
    ) {
      triggers.push(stampTriggerSql(table));
    }
    const guard = triggerState?.get(deleteTriggerName);
    if (
      !guard ||
      guard.functionName !== DELETE_GUARD_FUNCTION ||
      guard.type !== DELETE_TRIGGER_TYPE ||
      guard.args.join('\0') !== deleteTriggerArgs(table).join('\0') ||
      !guard.enabled
    ) {
      triggers.push(deleteTriggerSql(table));
    }
    for (const notify of notifyTriggersSql(table)) {
      const found = triggerState?.get(notify.name);
      if (
        !found ||
        found.functionName !== notifyFunctionName(table) ||
        found.type !== NOTIFY_TRIGGER_TYPES[notify.name] ||
        found.newTable !== NOTIFY_NEW_ROWS ||
        found.args.length !== 0 ||
        !found.enabled
      ) {
        triggers.push(notify.sql);
      }
    }
    for (const index of indexesOf(config, table)) {
      if (catalog.relations.has(index.name)) continue;
      indexes.push(
        `CREATE INDEX ${quoteIdent(index.name)} ON ${quoteIdent(table.sqlName)} (${index.columns.map(quoteIdent).join(', ')})`,
      );
    }
  }
  if (problems.length > 0) return { problems, statements: [] };
  // Functions are replaced on every run, so a newer version upgrades them; it locks no table.
  const functions = [
    deleteGuardFunctionSql(),
    ...(Object.values(config.tables) as ResolvedTable[]).flatMap((table) => [
      stampFunctionSql(config, table),
      notifyFunctionSql(config, table),
    ]),
  ];
  return { problems, statements: [...statements, ...functions, ...triggers, ...indexes] };
}

function alterTable(
  table: ResolvedTable,
  existing: CatalogTable,
  columns: readonly ServerColumn[],
  problems: CarburetorServerError[],
): string[] {
  const name = table.sqlName;
  const alter = `ALTER TABLE ${quoteIdent(name)}`;
  const statements: string[] = [];
  const where = (column: string) => `column "${name}"."${column}"`;
  if (existing.primaryKey.length !== 1 || existing.primaryKey[0] !== table.id) {
    const found =
      existing.primaryKey.length === 0 ? 'no primary key' : `(${existing.primaryKey.join(', ')})`;
    problems.push(
      new CarburetorServerError(
        'primary_key_mismatch',
        `Table "${name}" must have the primary key (${table.id}), but has ${found}; Carburetor does not change primary keys: fix the table or the config.`,
        { table: name, column: table.id, expected: `(${table.id})`, found },
      ),
    );
  }
  for (const column of columns) {
    const found = existing.columns.get(column.name);
    if (!found) {
      if (column.notNull && column.defaultSql === undefined) {
        problems.push(
          new CarburetorServerError(
            'missing_default',
            `${where(column.name)} is missing and is NOT NULL without a default, so it cannot be added to the existing rows; give it a default or make it .nullable().`,
            { table: name, column: column.name, expected: 'a default', found: 'none' },
          ),
        );
      } else {
        statements.push(`${alter} ADD COLUMN ${columnDdl(column)}`);
      }
      continue;
    }
    if (!column.formatTypes.includes(found.type)) {
      problems.push(
        new CarburetorServerError(
          'type_mismatch',
          `${where(column.name)} has the type ${found.type}, but the config needs ${column.formatTypes[0]}; Carburetor does not change column types: fix the column or the config.`,
          { table: name, column: column.name, expected: column.formatTypes[0], found: found.type },
        ),
      );
      continue;
    }
    if (column.notNull && !found.notNull) {
      problems.push(
        new CarburetorServerError(
          'nullability_mismatch',
          `${where(column.name)} is nullable, but the config needs it NOT NULL; Carburetor does not tighten columns: set it NOT NULL yourself (after filling its nulls) or mark it .nullable().`,
          { table: name, column: column.name, expected: 'NOT NULL', found: 'nullable' },
        ),
      );
      continue;
    }
    if (!column.notNull && found.notNull) {
      statements.push(`${alter} ALTER COLUMN ${quoteIdent(column.name)} DROP NOT NULL`);
    }
    if (column.defaultSql !== undefined && !found.hasDefault) {
      statements.push(
        `${alter} ALTER COLUMN ${quoteIdent(column.name)} SET DEFAULT ${column.defaultSql}`,
      );
    }
  }
  const declared = new Set(columns.map((c) => c.name));
  for (const found of existing.columns.values()) {
    if (declared.has(found.name) || !found.notNull || found.filled) continue;
    problems.push(
      new CarburetorServerError(
        'undeclared_required_column',
        `${where(found.name)} is NOT NULL without a default and is not in the config, so no insert through Carburetor could succeed; declare it, give it a default, or make it nullable.`,
        {
          table: name,
          column: found.name,
          expected: 'declared, nullable or with a default',
          found: 'NOT NULL without default',
        },
      ),
    );
  }
  return statements;
}
