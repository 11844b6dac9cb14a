import type { AnySyncConfig, ResolvedTable } from '@carburetor/core';
import { type Kysely, sql } from 'kysely';
import { MigrationError } from '../errors.ts';
import { readCatalog } from './catalog.ts';
import { recordConfigVersion } from './config-versions.ts';
import { MIGRATION_LOCK_KEY } from './names.ts';
import { indexesOf, planMigration } from './plan.ts';

/** What `migrateServer` did. */
export interface MigrationResult {
  /**
   * The DDL statements it ran, in order. Carburetor's functions are replaced
   * on every run, so they are always there; anything else is a change.
   */
  readonly statements: readonly string[];
}

/**
 * Creates or updates the PostgreSQL schema for a config, in one transaction
 * under an advisory lock, so concurrent runs (several app instances starting
 * at once) wait for each other and all succeed.
 *
 * Append-only and idempotent: it creates missing tables, indexes and
 * triggers, adds missing columns, relaxes NOT NULL where the config says
 * nullable, and replaces Carburetor's own functions (a newer version
 * upgrades them). It never drops or retypes anything; a type or primary-key
 * mismatch, a NOT NULL the config does not allow, or a new NOT NULL column
 * without a default is refused with a {@link MigrationError} before any DDL
 * runs. Extra columns (nullable or with a default), other tables and other
 * schemas are left alone. Tables go to `current_schema()`.
 *
 * It also records the config's version (its identity and definition) in
 * `_carburetor_config_versions`, so the router can serve clients that still
 * run an older config (see the README, "Config changes"). The first version
 * recorded stands for clients that send no identity (from before versioning).
 *
 * @throws {MigrationError} listing every problem found; the database is unchanged.
 * @example
 * ```ts
 * import { createPgKysely, migrateServer } from '@carburetor/server';
 * import { config } from './sync-config.ts';
 *
 * const db = createPgKysely(process.env.DATABASE_URL!);
 * await migrateServer(db, config);
 * ```
 */
export async function migrateServer(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  db: Kysely<any>,
  config: AnySyncConfig,
): Promise<MigrationResult> {
  const tables = Object.values(config.tables) as ResolvedTable[];
  const indexNames = tables.flatMap((table) => indexesOf(config, table).map((i) => i.name));
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${MIGRATION_LOCK_KEY}))`.execute(trx);
    // Read after the lock: a concurrent run that held it has committed by now.
    const catalog = await readCatalog(
      trx,
      tables.map((t) => t.sqlName),
      indexNames,
    );
    const plan = planMigration(config, catalog);
    if (plan.problems.length > 0) throw new MigrationError(plan.problems);
    for (const statement of plan.statements) await sql.raw(statement).execute(trx);
    // Which tables and columns clients of this config know: the router serves them by it.
    await recordConfigVersion(trx, config);
    return { statements: plan.statements };
  });
}
