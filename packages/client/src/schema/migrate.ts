import type { AnySyncConfig, ResolvedColumn, ResolvedTable } from '@carburetor/core';
import type { SqliteDriver, SqliteExecutor, SqliteValue } from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';
import {
  CURSOR_TABLE,
  dirtyIndexName,
  quote,
  REJECTED_TABLE,
  rebuildTableName,
  SEEN_TABLE,
  STATE_TABLE,
} from './names.ts';

const BOOKKEEPING = [
  `CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${CURSOR_TABLE} (group_name TEXT NOT NULL, table_key TEXT NOT NULL, cursor TEXT NOT NULL, PRIMARY KEY (group_name, table_key))`,
  `CREATE TABLE IF NOT EXISTS ${SEEN_TABLE} (group_name TEXT NOT NULL, table_key TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (group_name, table_key, id))`,
  `CREATE TABLE IF NOT EXISTS ${REJECTED_TABLE} (table_key TEXT NOT NULL, id TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, rejected_at INTEGER NOT NULL, PRIMARY KEY (table_key, id))`,
];

interface ExistingColumn {
  name: string;
  type: string;
  notNull: boolean;
  /** The default as SQL text (pragma_table_info's `dflt_value`), or null. */
  defaultSql: string | null;
}

/** The SQLite storage class a column is declared with. */
export function sqliteType(column: ResolvedColumn): string {
  return column.role === 'isDeleted' ? 'INTEGER' : column.type.sqlite;
}

function literal(value: SqliteValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  return `X'${Array.from(value, (b) => b.toString(16).padStart(2, '0')).join('')}'`;
}

/** A column's value default in its SQLite form, or undefined when it has none. */
function ddlDefault(column: ResolvedColumn): string | undefined {
  if (column.default?.kind !== 'value') return undefined;
  const value = column.default.value;
  return literal(value === null ? null : column.type.toSqlite(value as never));
}

function columnDdl(table: ResolvedTable, column: ResolvedColumn): string {
  const name = quote(column.name);
  switch (column.role) {
    case 'id':
      return `${name} TEXT PRIMARY KEY NOT NULL`;
    case 'isDeleted':
      return `${name} INTEGER NOT NULL DEFAULT 0`;
    case 'lastSyncedAt':
      return `${name} TEXT`;
    case 'columnSyncMetadata':
      return `${name} TEXT NOT NULL DEFAULT '{}'`;
    case 'dirtyFlag':
      return `${name} TEXT CHECK (${name} IN ('insert', 'update'))`;
    case 'data': {
      const def = ddlDefault(column);
      return `${name} ${sqliteType(column)}${column.nullable ? '' : ' NOT NULL'}${def === undefined ? '' : ` DEFAULT ${def}`}`;
    }
  }
  throw new CarburetorClientError(
    'schema_mismatch',
    `Column "${table.key}.${column.name}" has an unknown role.`,
  );
}

function createTableSql(table: ResolvedTable, name: string, extra: readonly ExistingColumn[]) {
  const columns = table.columns.map((c) => columnDdl(table, c));
  // Columns the config dropped stay (append-only), nullable so inserts still work.
  for (const column of extra) {
    const def = column.defaultSql === null ? '' : ` DEFAULT ${column.defaultSql}`;
    columns.push(`${quote(column.name)} ${column.type}${def}`);
  }
  return `CREATE TABLE ${quote(name)} (${columns.join(', ')})`;
}

async function existingColumns(ex: SqliteExecutor, table: string): Promise<ExistingColumn[]> {
  const result = await ex.execute(
    `SELECT name, type, "notnull" AS nn, dflt_value AS def FROM pragma_table_info(?)`,
    [table],
  );
  return result.rows.map((row) => ({
    name: String(row['name']),
    type: String(row['type']).toUpperCase(),
    notNull: Number(row['nn']) === 1,
    defaultSql: row['def'] === null || row['def'] === undefined ? null : String(row['def']),
  }));
}

/** Whether `ALTER TABLE ADD COLUMN` can add the column (SQLite needs a default for NOT NULL). */
function canAdd(column: ResolvedColumn): boolean {
  return (
    column.role !== 'id' &&
    (column.nullable || column.role !== 'data' || ddlDefault(column) !== undefined)
  );
}

async function migrateTable(ex: SqliteExecutor, table: ResolvedTable): Promise<void> {
  const temp = rebuildTableName(table);
  // A rebuild runs in the migration's transaction, so a crash rolls it back;
  // the drop only cleans up after engines that lost that guarantee.
  await ex.execute(`DROP TABLE IF EXISTS ${quote(temp)}`);
  const existing = await existingColumns(ex, table.sqlName);
  if (existing.length === 0) {
    await ex.execute(createTableSql(table, table.sqlName, []));
  } else {
    const byName = new Map(existing.map((c) => [c.name, c]));
    const toAdd: ResolvedColumn[] = [];
    let rebuild = false;
    for (const column of table.columns) {
      const found = byName.get(column.name);
      if (!found) {
        if (canAdd(column)) toAdd.push(column);
        else rebuild = true;
        continue;
      }
      const expected = sqliteType(column);
      if (found.type !== expected) {
        throw new CarburetorClientError(
          'schema_mismatch',
          `Replica table "${table.sqlName}" column "${column.name}" is ${found.type || 'untyped'} but the config needs ${expected} (${column.kind}). Column types cannot change: add a new column instead, or reset the replica (client.reset() or a new database).`,
          { table: table.key, column: column.name },
        );
      }
      const wantsNotNull = column.role === 'data' && !column.nullable;
      if (column.role === 'data' && found.notNull && !wantsNotNull) rebuild = true;
      if (column.role === 'data' && !found.notNull && wantsNotNull) {
        throw new CarburetorClientError(
          'schema_mismatch',
          `Replica table "${table.sqlName}" column "${column.name}" is nullable but the config makes it required. Schemas are append-only: a column can become nullable, never the other way; keep .nullable() on it.`,
          { table: table.key, column: column.name },
        );
      }
    }
    const known = new Set(table.columns.map((c) => c.name));
    // A required column the config no longer declares would fail every insert
    // (nothing writes it): it stays, nullable, as the server keeps it, and a
    // later config may declare it again (nullable: a replica never tightens).
    if (existing.some((c) => !known.has(c.name) && c.notNull && c.defaultSql === null))
      rebuild = true;
    if (rebuild) {
      const extra = existing
        .filter((c) => !known.has(c.name))
        .map((c) => ({ ...c, notNull: false }));
      const copied = existing.map((c) => quote(c.name)).join(', ');
      await ex.execute(createTableSql(table, temp, extra));
      try {
        await ex.execute(
          `INSERT INTO ${quote(temp)} (${copied}) SELECT ${copied} FROM ${quote(table.sqlName)}`,
        );
      } catch (cause) {
        throw new CarburetorClientError(
          'schema_mismatch',
          `Replica table "${table.sqlName}" cannot take the config's new required columns (${table.columns
            .filter((c) => !byName.has(c.name))
            .map((c) => c.name)
            .join(
              ', ',
            )}): it holds rows that have no value for them. Give the new columns a default or make them nullable.`,
          { table: table.key, cause },
        );
      }
      await ex.execute(`DROP TABLE ${quote(table.sqlName)}`);
      await ex.execute(`ALTER TABLE ${quote(temp)} RENAME TO ${quote(table.sqlName)}`);
    } else {
      for (const column of toAdd) {
        await ex.execute(
          `ALTER TABLE ${quote(table.sqlName)} ADD COLUMN ${columnDdl(table, column)}`,
        );
      }
    }
  }
  await ex.execute(
    `CREATE INDEX IF NOT EXISTS ${quote(dirtyIndexName(table))} ON ${quote(table.sqlName)} (${quote(table.dirtyFlag)}) WHERE ${quote(table.dirtyFlag)} IS NOT NULL`,
  );
}

/**
 * Creates or updates the replica's tables from the config, in one SQLite
 * transaction: one table per synced table (named by its plural) with SQLite
 * storage types, plus Carburetor's `_carburetor_*` bookkeeping (cursors,
 * client id and clock, rejected rows). Append-only like the server: new
 * tables and columns are added, a column may become nullable (by a table
 * rebuild), a column the config no longer declares stays (made nullable
 * when it was NOT NULL without a default, so inserts still work), and a
 * changed type is refused with a
 * {@link CarburetorClientError} `schema_mismatch` naming table and column.
 * Idempotent; `createSyncClient` runs it for you.
 *
 * @example
 * ```ts
 * await migrateClient(memoryDriver({ name: 'replica' }), config);
 * ```
 */
export async function migrateClient(driver: SqliteDriver, config: AnySyncConfig): Promise<void> {
  await driver.exclusive(async (ex) => {
    await ex.execute('BEGIN IMMEDIATE');
    try {
      for (const statement of BOOKKEEPING) await ex.execute(statement);
      for (const table of Object.values(config.tables) as ResolvedTable[]) {
        await migrateTable(ex, table);
      }
      await ex.execute('COMMIT');
    } catch (error) {
      await ex.execute('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}
