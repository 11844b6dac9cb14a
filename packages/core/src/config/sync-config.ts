import { ConfigError } from '../errors.ts';
import type { CheckGroups, SyncConfig, SyncGroupsInput } from './config-types.ts';
import { generatedNames } from './names.ts';
import { resolveGroup } from './resolve-group.ts';
import { resolveTable } from './resolve-table.ts';
import type { ResolvedGroup, ResolvedTable } from './resolved.ts';
import type { AnyTable } from './table.ts';

/**
 * Declares the synced tables and sync groups once; server and client are
 * generated from it. Every mistake the type system can see is a type error,
 * and every invalid config throws a {@link ConfigError} naming the table and
 * column.
 *
 * @example
 * ```ts
 * export const config = defineSyncConfig({
 *   tables: {
 *     phone_book: table({ plural: 'phone_books' }, {
 *       owner_id: text().immutable(),
 *       name: text().validate(z.string().min(1)),
 *       phone_number: text(),
 *       note: text().nullable(),
 *     }),
 *   },
 *   syncGroups: {
 *     private_contacts: { phone_book: { restrictTo: { column: 'owner_id', context: 'userId' } } },
 *   },
 * });
 * ```
 */
export function defineSyncConfig<
  const TT extends Record<string, AnyTable>,
  const TG extends SyncGroupsInput,
>(input: { tables: TT; syncGroups: TG & NoInfer<CheckGroups<TT, TG>> }): SyncConfig<TT, TG> {
  if (
    input === null ||
    typeof input !== 'object' ||
    typeof input.tables !== 'object' ||
    input.tables === null
  ) {
    throw new ConfigError('defineSyncConfig needs { tables, syncGroups }.');
  }
  const tables: Record<string, ResolvedTable> = {};
  const bySqlName = new Map<string, string>();
  /** Generated helper and hook names, by the table that generates them. */
  const byName = new Map<string, string>();
  for (const [key, declared] of Object.entries(input.tables)) {
    const table = resolveTable(key, declared);
    const clash = bySqlName.get(table.sqlName.toLowerCase());
    if (clash !== undefined) {
      throw new ConfigError(
        `Tables "${clash}" and "${key}" both use the SQL name "${table.sqlName}"; give one another plural.`,
        { table: key },
      );
    }
    bySqlName.set(table.sqlName.toLowerCase(), key);
    for (const name of generatedNames(table.names)) {
      const other = byName.get(name);
      if (other !== undefined) {
        throw new ConfigError(
          `Tables "${other}" and "${key}" would both generate ${name}(): give one of them another key or plural.`,
          { table: key },
        );
      }
      byName.set(name, key);
    }
    tables[key] = table;
  }
  if (Object.keys(tables).length === 0)
    throw new ConfigError('defineSyncConfig needs at least one table.');
  if (
    input.syncGroups === null ||
    typeof input.syncGroups !== 'object' ||
    Object.keys(input.syncGroups).length === 0
  ) {
    throw new ConfigError('defineSyncConfig needs at least one sync group in syncGroups.');
  }
  const groups: Record<string, ResolvedGroup> = {};
  for (const [name, entries] of Object.entries(input.syncGroups)) {
    groups[name] = resolveGroup(name, entries as Record<string, unknown>, tables);
  }
  return Object.freeze({
    tables: Object.freeze(tables),
    groups: Object.freeze(groups),
    $tables: input.tables,
    $groups: input.syncGroups,
  }) as unknown as SyncConfig<TT, TG>;
}
