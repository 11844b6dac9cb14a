import { ADMIN_URL_ENV, createTestDatabase, type TestDatabase } from '@carburetor/testing';
import setup from '@carburetor/testing/global-setup';

/** A throwaway PostgreSQL (the test helpers' embedded server) and one fresh database on it. */
export interface BenchPostgres {
  readonly database: TestDatabase;
  stop(): Promise<void>;
}

/** Starts the embedded PostgreSQL the tests use (or uses DATABASE_URL) and creates a database. */
export async function startBenchPostgres(label: string): Promise<BenchPostgres> {
  // The global setup only needs somewhere to hand the URL; it also sets it in the environment.
  const teardown = await setup({ provide: () => {} } as never);
  if (!process.env[ADMIN_URL_ENV]) throw new Error('the embedded PostgreSQL did not start');
  const database = await createTestDatabase(label);
  return {
    database,
    async stop() {
      // The server goes even when the drop fails, or every later benchmark would start beside it.
      try {
        await database.drop();
      } finally {
        await teardown();
      }
    },
  };
}
