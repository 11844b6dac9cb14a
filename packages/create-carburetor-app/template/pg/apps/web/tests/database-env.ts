/** The tests' database: the PostgreSQL at DATABASE_URL (the tests' rows stay in it). */
export async function databaseEnv(): Promise<{
  env: Record<string, string>;
  remove(): Promise<void>;
}> {
  if (!process.env.DATABASE_URL) {
    throw new Error(
      'The tests start the app on PostgreSQL: set DATABASE_URL (e.g. DATABASE_URL=postgres://user:password@localhost:5432/app_test pnpm test).',
    );
  }
  return { env: {}, remove: async () => undefined };
}
