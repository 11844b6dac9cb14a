import {
  type AnySyncConfig,
  type ConfigDefinition,
  configDefinition,
  configIdentity,
  type ResolvedGroup,
  type ResolvedGroupTable,
} from '@carburetor/core';
import { type CursorState, cursorFingerprint, legacyCursorFingerprint } from './cursor.ts';
import type { ContextValues } from './download.ts';

/**
 * The config a request came from (protocol 3): the router finds it from the
 * request's `config` identity, among the versions `migrateServer` recorded.
 */
export interface RequestConfig {
  readonly identity: string;
  readonly definition: ConfigDefinition;
  /**
   * The definition of another recorded config (a cursor's), or of the one
   * before versioning (`undefined`); undefined when not recorded.
   */
  definitionOf(identity: string | undefined): Promise<ConfigDefinition | undefined>;
}

const ownConfigs = new WeakMap<AnySyncConfig, RequestConfig>();

/** The server's own config as a request's: what a caller that names none gets. */
export function ownConfig(config: AnySyncConfig): RequestConfig {
  let own = ownConfigs.get(config);
  if (!own) {
    const identity = configIdentity(config);
    const definition = configDefinition(config);
    own = {
      identity,
      definition,
      definitionOf: async (id) => (id === identity ? definition : undefined),
    };
    ownConfigs.set(config, own);
  }
  return own;
}

/** The table's synced columns a config knows, in the table's order (the deleted flag always). */
export function knownColumns(
  table: ResolvedGroupTable['table'],
  definition: ConfigDefinition,
): readonly string[] {
  const known = definition.tables[table.key]?.columns ?? {};
  return table.syncedColumns.filter((c) => c === table.isDeleted || c in known);
}

/**
 * Which columns a sent cursor delivered, when it belongs to this table and
 * caller at all: those of the config it names, or, for a cursor made before
 * configs had identities, those its fingerprint was made with (the client's
 * current config's, or the one from before versioning). Undefined: a first
 * download.
 */
export async function deliveredColumns(
  sent: CursorState,
  group: ResolvedGroup,
  entry: ResolvedGroupTable,
  contextValues: ContextValues,
  client: RequestConfig,
  requested: readonly string[],
): Promise<readonly string[] | undefined> {
  if (sent.config !== undefined) {
    if (sent.fingerprint !== cursorFingerprint(group, entry, contextValues)) return undefined;
    const definition =
      sent.config === client.identity ? client.definition : await client.definitionOf(sent.config);
    return definition ? knownColumns(entry.table, definition) : undefined;
  }
  if (sent.fingerprint === legacyCursorFingerprint(group, entry, contextValues, requested)) {
    return requested;
  }
  const before = await client.definitionOf(undefined);
  if (!before) return undefined;
  const columns = knownColumns(entry.table, before);
  return sent.fingerprint === legacyCursorFingerprint(group, entry, contextValues, columns)
    ? columns
    : undefined;
}
