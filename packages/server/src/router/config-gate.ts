import {
  type AnySyncConfig,
  CONFIG_IDENTITY_PATTERN,
  compareConfigs,
  configDefinition,
  configIdentity,
  UPDATE_REQUIRED_TRPC_CODE,
} from '@carburetor/core';
import type { Kysely } from 'kysely';
import type { RequestConfig } from '../download/request-config.ts';
import { ConfigVersions } from '../schema/config-versions.ts';
import { clientError } from './client-errors.ts';

/**
 * Decides, per request, which config the client runs and whether this
 * server can serve it (see the README, "Config changes"):
 *
 * - its own config, or an older one it changed additively: served, the
 *   older one as it knows the tables and columns;
 * - an older one with an incompatible change since: `PRECONDITION_FAILED`
 *   naming the changes (the app asks its user to update); nothing is written;
 * - a newer one (a rolling deploy: this instance still runs the older
 *   config), or one not recorded yet: `SERVICE_UNAVAILABLE`, retried by the
 *   client until a server of its config answers.
 *
 * A request without an identity comes from the config before versioning
 * (the one `migrateServer` recorded first for the server's tables).
 */
export class ConfigGate {
  readonly #versions: ConfigVersions;
  readonly #own: RequestConfig;

  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  constructor(db: Kysely<any>, config: AnySyncConfig) {
    this.#versions = new ConfigVersions(db, config);
    const identity = configIdentity(config);
    const definition = configDefinition(config);
    const versions = this.#versions;
    this.#own = {
      identity,
      definition,
      definitionOf: async (id) =>
        id === identity ? definition : (await versions.get(id))?.definition,
    };
  }

  /** The identity of the server's own config. */
  get identity(): string {
    return this.#own.identity;
  }

  /**
   * The config of a request with this `config` field (as it came, unchecked:
   * a malformed one is left to the request's validation, which names it).
   *
   * @throws {TRPCError} `PRECONDITION_FAILED` (update required) or `SERVICE_UNAVAILABLE` (retry).
   */
  async configOf(requested: unknown): Promise<RequestConfig> {
    if (requested === this.#own.identity) return this.#own;
    if (requested !== undefined && !isIdentity(requested)) return this.#own;
    const version = await this.#versions.get(requested);
    if (!version) {
      // Not migrated since versioning existed: every client is served as today.
      if (requested === undefined) return this.#own;
      throw clientError(
        'SERVICE_UNAVAILABLE',
        `This sync server does not serve config ${requested} (yet): during a deploy, an instance of the older version may answer; retry shortly. If it persists, the server was never migrated for this app's config (migrateServer).`,
      );
    }
    if (version.identity === this.#own.identity) return this.#own;
    const changes = compareConfigs(version.definition, this.#own.definition);
    const blocking = changes.filter((c) => !c.additive);
    const withVersion = {
      ...this.#own,
      identity: version.identity,
      definition: version.definition,
    };
    if (blocking.length === 0) return withVersion;
    // Recorded after this server's config (this instance is behind, mid-deploy): retried, never
    // "update". Which of two configs is newer is when they were migrated, not what changed: the
    // reverse of an incompatible change (immutable added) is often additive (immutable removed).
    const own = await this.#versions.get(this.#own.identity);
    const newer =
      own !== undefined
        ? version.recordedAt > own.recordedAt
        : compareConfigs(this.#own.definition, version.definition).every((c) => c.additive);
    if (newer) {
      const ahead = compareConfigs(this.#own.definition, version.definition);
      throw clientError(
        'SERVICE_UNAVAILABLE',
        `This sync server runs an older config than the app's (in the app's: ${ahead
          .slice(0, 3)
          .map((c) => c.description)
          .join('; ')}); during a deploy, retry shortly: a server of the new version will answer.`,
      );
    }
    throw clientError(
      UPDATE_REQUIRED_TRPC_CODE,
      `update_required: this app's sync config (${version.identity}) can no longer sync with the server's: ${blocking
        .map((c) => c.description)
        .join('; ')}. Update the app; its unsent changes are kept.`,
    );
  }
}

function isIdentity(value: unknown): value is string {
  return typeof value === 'string' && CONFIG_IDENTITY_PATTERN.test(value);
}
