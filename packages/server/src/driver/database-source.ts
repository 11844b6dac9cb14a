import type { PGlite } from '@electric-sql/pglite';
import type { DialectAdapter, Kysely } from 'kysely';
import type pg from 'pg';

/**
 * The database behind a Kysely built by Carburetor's dialects: what the
 * realtime hub opens its LISTEN connection from, so an app that passes `db`
 * need not say again where its database is.
 */
export type DatabaseSource =
  | { readonly kind: 'pg'; readonly pool: pg.Pool }
  | { readonly kind: 'pglite'; readonly pglite: PGlite };

// Keyed by the dialect's adapter: one per Kysely, shared by everything derived from it
// (withSchema, withPlugin, transactions).
const sources = new WeakMap<DialectAdapter, DatabaseSource>();

/** Records the database behind an adapter a Carburetor dialect created. */
export function rememberDatabaseSource(adapter: DialectAdapter, source: DatabaseSource): void {
  sources.set(adapter, source);
}

/** The database behind a Kysely, when a Carburetor dialect built it. */
// biome-ignore lint/suspicious/noExplicitAny: any database schema
export function databaseSourceOf(db: Kysely<any>): DatabaseSource | undefined {
  return sources.get(db.getExecutor().adapter);
}
