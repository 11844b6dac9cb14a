import type { AnySyncConfig, ResolvedGroup, ResolvedTable } from '@carburetor/core';
import { CarburetorClientError } from '../errors.ts';

/**
 * The sync groups a client syncs, in order, and what follows from them:
 * which group uploads each writable table (the first, in order, where it is
 * writable) and which tables the client reads.
 */
export class ClientGroups {
  /** The groups, in the order the app listed them. */
  readonly list: readonly ResolvedGroup[];
  /** For each table writable in one of the groups: the group that uploads it. */
  readonly #uploadVia: ReadonlyMap<ResolvedTable, ResolvedGroup>;

  /** Checks the app's `groups` option against the config. */
  constructor(config: AnySyncConfig, names: readonly string[]) {
    this.list = resolveGroups(config, names);
    const via = new Map<ResolvedTable, ResolvedGroup>();
    for (const group of this.list) {
      for (const entry of group.tables) {
        if (!entry.readOnly && !via.has(entry.table)) via.set(entry.table, group);
      }
    }
    this.#uploadVia = via;
  }

  /** The group names, in order. */
  get names(): string[] {
    return this.list.map((g) => g.name);
  }

  /** The tables writable in at least one group (they get write helpers and are counted as pending). */
  get writableTables(): ResolvedTable[] {
    return [...this.#uploadVia.keys()];
  }

  /** Every table of the groups, once each. */
  get tables(): ResolvedTable[] {
    return [...new Set(this.list.flatMap((g) => g.tables.map((t) => t.table)))];
  }

  /** The tables `group` uploads. */
  uploadedBy(group: ResolvedGroup): ResolvedTable[] {
    return [...this.#uploadVia].filter(([, via]) => via === group).map(([table]) => table);
  }

  /** The group named `name`, which this client must sync. */
  named(name: string): ResolvedGroup {
    const group = this.list.find((g) => g.name === name);
    if (!group) {
      throw new CarburetorClientError(
        'invalid_options',
        `This client does not sync group "${name}".`,
      );
    }
    return group;
  }
}

function resolveGroups(config: AnySyncConfig, names: readonly string[]): ResolvedGroup[] {
  if (!Array.isArray(names) || names.length === 0) {
    throw new CarburetorClientError(
      'invalid_options',
      `createSyncClient needs groups: the sync groups to sync, e.g. ['${Object.keys(config.groups)[0] ?? 'group'}'].`,
    );
  }
  const seen = new Set<string>();
  return names.map((name) => {
    const group = (config.groups as Record<string, ResolvedGroup>)[name];
    if (!group) {
      throw new CarburetorClientError(
        'invalid_options',
        `Unknown sync group "${name}"; the config's groups are: ${Object.keys(config.groups).join(', ')}.`,
      );
    }
    if (seen.has(name)) {
      throw new CarburetorClientError('invalid_options', `Sync group "${name}" is listed twice.`);
    }
    seen.add(name);
    return group;
  });
}
