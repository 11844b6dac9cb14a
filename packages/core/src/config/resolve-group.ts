import { ConfigError } from '../errors.ts';
import { RESERVED_GROUP_NAMES } from './config-types.ts';
import { checkIdentifier, IDENTIFIER } from './resolve-table.ts';
import type { ResolvedGroup, ResolvedGroupTable, ResolvedTable } from './resolved.ts';

/**
 * A declared sync group, resolved against the tables: each entry's
 * restriction (an immutable column and a context key), filter and read-only
 * flag checked.
 *
 * @throws {ConfigError} naming the group, table and column.
 */
export function resolveGroup(
  name: string,
  entries: Record<string, unknown>,
  tables: Record<string, ResolvedTable>,
): ResolvedGroup {
  checkIdentifier('Sync group', name, {});
  if ((RESERVED_GROUP_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(
      `Sync group "${name}" clashes with a name tRPC reserves (${RESERVED_GROUP_NAMES.join(', ')}); rename the group.`,
    );
  }
  if (entries === null || typeof entries !== 'object' || Object.keys(entries).length === 0) {
    throw new ConfigError(
      `Sync group "${name}" lists no tables; add at least one, e.g. { phone_book: true }.`,
    );
  }
  const groupTables: ResolvedGroupTable[] = [];
  const contextKeys = new Set<string>();
  for (const [tableKey, options] of Object.entries(entries)) {
    const table = tables[tableKey];
    if (!table) {
      throw new ConfigError(
        `Sync group "${name}" lists the unknown table "${tableKey}"; the tables are: ${Object.keys(tables).join(', ')}.`,
        { table: tableKey },
      );
    }
    if (options === true) {
      groupTables.push(
        Object.freeze({ table, restrictTo: undefined, filter: undefined, readOnly: false }),
      );
      continue;
    }
    if (options === null || typeof options !== 'object') {
      throw new ConfigError(
        `Sync group "${name}" gives table "${tableKey}" the options ${JSON.stringify(options)}; use true or { restrictTo?, filter?, readOnly? }.`,
        { table: tableKey },
      );
    }
    const opts = options as {
      restrictTo?: { column?: unknown; context?: unknown };
      filter?: unknown;
      readOnly?: unknown;
    };
    for (const option of Object.keys(opts)) {
      if (option !== 'restrictTo' && option !== 'filter' && option !== 'readOnly') {
        throw new ConfigError(
          `Sync group "${name}" gives table "${tableKey}" the unknown option "${option}"; the options are restrictTo, filter and readOnly.`,
          { table: tableKey },
        );
      }
    }
    let restrictTo: ResolvedGroupTable['restrictTo'];
    if (opts.restrictTo !== undefined) {
      const { column, context } = opts.restrictTo;
      const col = typeof column === 'string' ? table.column[column] : undefined;
      if (col?.role !== 'data') {
        throw new ConfigError(
          `Sync group "${name}" restricts table "${tableKey}" by the unknown column "${String(column)}"; name one of its data columns.`,
          { table: tableKey, column: String(column) },
        );
      }
      if (!col.immutable) {
        throw new ConfigError(
          `Sync group "${name}" restricts table "${tableKey}" by column "${col.name}", which is not immutable; rows must never move between users: declare it with .immutable().`,
          { table: tableKey, column: col.name },
        );
      }
      if (typeof context !== 'string' || !IDENTIFIER.test(context)) {
        throw new ConfigError(
          `Sync group "${name}" restricts table "${tableKey}" by column "${col.name}" with the context name ${JSON.stringify(context)}; give a name such as 'userId'.`,
          { table: tableKey, column: col.name },
        );
      }
      restrictTo = Object.freeze({ column: col.name, context });
      contextKeys.add(context);
    }
    let filter: Record<string, unknown> | undefined;
    if (opts.filter !== undefined) {
      if (opts.filter === null || typeof opts.filter !== 'object') {
        throw new ConfigError(
          `Sync group "${name}" gives table "${tableKey}" a filter that is not an object of column values.`,
          { table: tableKey },
        );
      }
      filter = {};
      for (const [column, value] of Object.entries(opts.filter)) {
        const col = table.column[column];
        if (col?.role !== 'data') {
          throw new ConfigError(
            `Sync group "${name}" filters table "${tableKey}" on the unknown column "${column}"; name one of its data columns.`,
            { table: tableKey, column },
          );
        }
        const valid =
          value === null
            ? col.nullable
            : col.kind !== 'bytea' &&
              col.kind !== 'jsonb' &&
              col.type.checkWire(value) === undefined;
        if (!valid) {
          throw new ConfigError(
            `Sync group "${name}" filters table "${tableKey}" on column "${column}" by ${JSON.stringify(value)}, which is not a ${col.kind} value it can compare.`,
            { table: tableKey, column },
          );
        }
        filter[column] = value;
      }
      Object.freeze(filter);
    }
    if (opts.readOnly !== undefined && typeof opts.readOnly !== 'boolean') {
      throw new ConfigError(
        `Sync group "${name}" gives table "${tableKey}" a readOnly that is not a boolean.`,
        {
          table: tableKey,
        },
      );
    }
    groupTables.push(
      Object.freeze({ table, restrictTo, filter, readOnly: opts.readOnly === true }),
    );
  }
  return Object.freeze({
    name,
    tables: Object.freeze(groupTables),
    table: Object.freeze(Object.fromEntries(groupTables.map((t) => [t.table.key, t]))),
    contextKeys: Object.freeze([...contextKeys]),
  });
}
