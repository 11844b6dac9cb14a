import {
  type AnySyncConfig,
  type ConfigDefinition,
  configDefinition,
  definitionIdentity,
  type ResolvedTable,
} from '@carburetor/core';
import { type Kysely, sql } from 'kysely';

/**
 * Every config version the database has been migrated for: its identity,
 * its definition (which tables and columns a client of it knows), when it
 * was first recorded, and whether it stands for the clients from before
 * configs had identities (the definition current when versioning first ran
 * on its tables).
 */
export const CONFIG_VERSIONS_TABLE = '_carburetor_config_versions';

/** SQLSTATE of a query naming a table that does not exist. */
const UNDEFINED_TABLE = '42P01';

/** One recorded config version. */
export interface ConfigVersion {
  readonly identity: string;
  readonly definition: ConfigDefinition;
  /** The clients that send no identity (from before versioning) have this config. */
  readonly beforeVersioning: boolean;
  /** When `migrateServer` first ran with it, in milliseconds since the epoch. */
  readonly recordedAt: number;
}

/** Whether a stored definition names one of these SQL tables. */
function sharesTables(sqlNames: readonly string[]) {
  return sql`exists (
    select 1 from jsonb_each(definition -> 'tables') as t
    where t.value ->> 'sqlName' = any(${[...sqlNames]}::text[]))`;
}

/** The SQL tables of a config. */
function sqlNamesOf(config: AnySyncConfig): string[] {
  return Object.values(config.tables as Record<string, ResolvedTable>).map((t) => t.sqlName);
}

/**
 * Records the config's version, inside `migrateServer`'s transaction. The
 * first version recorded for its tables is also the one requests without an
 * identity are served as (one database may serve several apps, each with
 * its own tables: each has its own). Idempotent: a version is recorded once.
 */
export async function recordConfigVersion(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  trx: Kysely<any>,
  config: AnySyncConfig,
): Promise<void> {
  const definition = configDefinition(config);
  const identity = definitionIdentity(definition);
  await sql`
    create table if not exists ${sql.table(CONFIG_VERSIONS_TABLE)} (
      identity text primary key,
      definition jsonb not null,
      before_versioning boolean not null default false,
      recorded_at timestamptz not null default clock_timestamp()
    )`.execute(trx);
  await sql`
    insert into ${sql.table(CONFIG_VERSIONS_TABLE)} (identity, definition, before_versioning)
    values (${identity}, ${JSON.stringify(definition)}::jsonb,
      not exists (select 1 from ${sql.table(CONFIG_VERSIONS_TABLE)}
        where ${sharesTables(sqlNamesOf(config))}))
    on conflict (identity) do nothing`.execute(trx);
}

/**
 * Reads recorded config versions, each once: a version never changes once
 * recorded. An identity not found is asked again next time (a newer
 * instance may record it meanwhile, during a rolling deploy).
 */
export class ConfigVersions {
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  readonly #db: Kysely<any>;
  readonly #known = new Map<string, ConfigVersion>();
  readonly #sqlNames: string[];
  #beforeVersioning: ConfigVersion | undefined;

  /** `config`: the server's, whose tables say which version clients without an identity have. */
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  constructor(db: Kysely<any>, config: AnySyncConfig) {
    this.#db = db;
    this.#sqlNames = sqlNamesOf(config);
  }

  /** The version of `identity`, or of the clients without one; undefined when not recorded. */
  async get(identity: string | undefined): Promise<ConfigVersion | undefined> {
    if (identity === undefined && this.#beforeVersioning) return this.#beforeVersioning;
    if (identity !== undefined) {
      const known = this.#known.get(identity);
      if (known) return known;
    }
    const where =
      identity === undefined
        ? sql`before_versioning and ${sharesTables(this.#sqlNames)}`
        : sql`identity = ${identity}`;
    const result = await sql<{
      identity: string;
      definition: ConfigDefinition | string;
      before_versioning: boolean;
      recorded_at: Date | string;
    }>`
      select identity, definition, before_versioning, recorded_at
      from ${sql.table(CONFIG_VERSIONS_TABLE)} where ${where} order by recorded_at limit 1`
      .execute(this.#db)
      .catch((error: unknown) => {
        // Migrated by a release from before versioning: no version is recorded.
        if ((error as { code?: unknown } | null)?.code === UNDEFINED_TABLE) return { rows: [] };
        throw error;
      });
    const row = result.rows[0];
    if (!row) return undefined;
    const version: ConfigVersion = {
      identity: row.identity,
      definition:
        typeof row.definition === 'string'
          ? (JSON.parse(row.definition) as ConfigDefinition)
          : row.definition,
      beforeVersioning: row.before_versioning,
      recordedAt: new Date(row.recorded_at).getTime(),
    };
    this.#known.set(version.identity, version);
    if (version.beforeVersioning) this.#beforeVersioning = version;
    return version;
  }
}
