// docs/guide.md: migrate once at server start, not at a module's top level (next build imports routes).
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { migrateServer } = await import('@carburetor/server');
  const { db } = await import('./server/database');
  const { config } = await import('./sync-config');
  await migrateServer(db, config); // idempotent; safe from every instance at once
}
