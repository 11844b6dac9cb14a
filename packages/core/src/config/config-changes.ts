import { fingerprint } from '../rules/fingerprint.ts';
import type {
  ColumnDefinition,
  ConfigDefinition,
  GroupTableDefinition,
  TableDefinition,
} from './config-definition.ts';

/**
 * One kind of difference between two config definitions. The server README
 * ("Config changes") says what old clients get for each.
 */
export type ConfigChangeKind =
  // Additive: a client of the older config keeps syncing.
  | 'table_added'
  | 'column_added'
  | 'group_added'
  | 'group_table_added'
  | 'default_changed'
  | 'immutable_removed'
  | 'filter_widened'
  | 'made_writable'
  // Incompatible: a client of the older config must update.
  | 'table_removed'
  | 'table_renamed'
  | 'column_removed'
  | 'column_added_required'
  | 'type_changed'
  | 'made_nullable'
  | 'made_required'
  | 'immutable_added'
  | 'group_removed'
  | 'group_table_removed'
  | 'filter_narrowed'
  | 'filter_changed'
  | 'restriction_changed'
  | 'made_read_only';

const ADDITIVE: ReadonlySet<ConfigChangeKind> = new Set([
  'table_added',
  'column_added',
  'group_added',
  'group_table_added',
  'default_changed',
  'immutable_removed',
  'filter_widened',
  'made_writable',
]);

/** One difference from an older definition to a newer one, named for a person. */
export interface ConfigChange {
  readonly kind: ConfigChangeKind;
  /** A client of the older config keeps syncing through it. */
  readonly additive: boolean;
  readonly table?: string;
  readonly column?: string;
  readonly group?: string;
  /** What changed, e.g. `column "phone_book.note" changed type from text to integer`. */
  readonly description: string;
}

function change(
  kind: ConfigChangeKind,
  description: string,
  where: { table?: string; column?: string; group?: string } = {},
): ConfigChange {
  return { kind, additive: ADDITIVE.has(kind), ...where, description };
}

function compareColumns(
  key: string,
  from: TableDefinition,
  to: TableDefinition,
  changes: ConfigChange[],
): void {
  for (const [name, was] of Object.entries(from.columns)) {
    const now: ColumnDefinition | undefined = to.columns[name];
    const where = { table: key, column: name };
    const label = `column "${key}.${name}"`;
    if (!now) {
      changes.push(change('column_removed', `${label} was removed`, where));
      continue;
    }
    if (now.kind !== was.kind) {
      changes.push(
        change('type_changed', `${label} changed type from ${was.kind} to ${now.kind}`, where),
      );
    }
    if (now.nullable && !was.nullable) {
      // Older clients cannot hold the nulls they would be sent.
      changes.push(change('made_nullable', `${label} was made nullable`, where));
    }
    if (!now.nullable && was.nullable) {
      changes.push(change('made_required', `${label} was made required (not nullable)`, where));
    }
    if (now.immutable && !was.immutable) {
      changes.push(change('immutable_added', `${label} was made immutable`, where));
    }
    if (!now.immutable && was.immutable) {
      changes.push(change('immutable_removed', `${label} is no longer immutable`, where));
    }
    if (fingerprint(now.default) !== fingerprint(was.default)) {
      changes.push(change('default_changed', `${label} changed its default`, where));
    }
  }
  for (const [name, now] of Object.entries(to.columns)) {
    if (name in from.columns) continue;
    const where = { table: key, column: name };
    if (now.nullable || now.default !== null) {
      changes.push(change('column_added', `column "${key}.${name}" was added`, where));
    } else {
      changes.push(
        change(
          'column_added_required',
          `column "${key}.${name}" was added, required and without a default`,
          where,
        ),
      );
    }
  }
}

function compareFilters(
  group: string,
  key: string,
  from: GroupTableDefinition['filter'],
  to: GroupTableDefinition['filter'],
  changes: ConfigChange[],
): void {
  const was = from ?? {};
  const now = to ?? {};
  const where = { group, table: key };
  const label = `the filter of table "${key}" in group "${group}"`;
  const changed = Object.keys(now).some(
    (c) => c in was && fingerprint(was[c]) !== fingerprint(now[c]),
  );
  const added = Object.keys(now).some((c) => !(c in was));
  const removed = Object.keys(was).some((c) => !(c in now));
  // A filter is a conjunction of column = value: fewer terms let more rows in.
  if (changed || (added && removed)) {
    changes.push(change('filter_changed', `${label} changed`, where));
  } else if (added) {
    changes.push(change('filter_narrowed', `${label} was narrowed`, where));
  } else if (removed) {
    changes.push(change('filter_widened', `${label} was widened`, where));
  }
}

function compareGroups(from: ConfigDefinition, to: ConfigDefinition, changes: ConfigChange[]) {
  for (const [group, wasTables] of Object.entries(from.groups)) {
    const nowTables = to.groups[group];
    if (!nowTables) {
      changes.push(change('group_removed', `group "${group}" was removed`, { group }));
      continue;
    }
    for (const [key, was] of Object.entries(wasTables)) {
      const now = nowTables[key];
      const where = { group, table: key };
      if (!now) {
        changes.push(change('group_table_removed', `table "${key}" left group "${group}"`, where));
        continue;
      }
      if (fingerprint(now.restrictTo) !== fingerprint(was.restrictTo)) {
        changes.push(
          change(
            'restriction_changed',
            `the restriction of table "${key}" in group "${group}" changed`,
            where,
          ),
        );
      }
      compareFilters(group, key, was.filter, now.filter, changes);
      if (now.readOnly && !was.readOnly) {
        changes.push(
          change('made_read_only', `table "${key}" was made read-only in group "${group}"`, where),
        );
      }
      if (!now.readOnly && was.readOnly) {
        changes.push(
          change('made_writable', `table "${key}" was made writable in group "${group}"`, where),
        );
      }
    }
    for (const key of Object.keys(nowTables)) {
      if (!(key in wasTables)) {
        changes.push(
          change('group_table_added', `table "${key}" joined group "${group}"`, {
            group,
            table: key,
          }),
        );
      }
    }
  }
  for (const group of Object.keys(to.groups)) {
    if (!(group in from.groups)) {
      changes.push(change('group_added', `group "${group}" was added`, { group }));
    }
  }
}

/**
 * Every difference from an older config definition to a newer one, each
 * classified as additive (a client of the older config keeps syncing) or
 * incompatible (it must update). Empty when they are the same.
 *
 * @example
 * ```ts
 * const changes = compareConfigs(configDefinition(oldConfig), configDefinition(newConfig));
 * const blocking = changes.filter((c) => !c.additive);
 * if (blocking.length > 0) console.log(blocking.map((c) => c.description).join('; '));
 * ```
 */
export function compareConfigs(from: ConfigDefinition, to: ConfigDefinition): ConfigChange[] {
  const changes: ConfigChange[] = [];
  for (const [key, was] of Object.entries(from.tables)) {
    const now = to.tables[key];
    if (!now) {
      changes.push(change('table_removed', `table "${key}" was removed`, { table: key }));
      continue;
    }
    if (now.sqlName !== was.sqlName || now.id !== was.id || now.isDeleted !== was.isDeleted) {
      changes.push(
        change('table_renamed', `table "${key}" changed its SQL name or special column names`, {
          table: key,
        }),
      );
    }
    compareColumns(key, was, now, changes);
  }
  for (const key of Object.keys(to.tables)) {
    if (!(key in from.tables)) {
      changes.push(change('table_added', `table "${key}" was added`, { table: key }));
    }
  }
  compareGroups(from, to, changes);
  return changes;
}

/**
 * Whether a client of config `from` can sync with a server of config `to`:
 * every change between them is additive.
 *
 * @example
 * ```ts
 * if (!servesOlder(clientDefinition, serverDefinition)) throw updateRequired();
 * ```
 */
export function servesOlder(from: ConfigDefinition, to: ConfigDefinition): boolean {
  return compareConfigs(from, to).every((c) => c.additive);
}
