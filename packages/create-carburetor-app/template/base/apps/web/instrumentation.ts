// Opens (and on the first start creates and migrates) the database as the
// server starts: not at a module's top level, since `next build` imports the
// route modules and must not need a database.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { serverDatabase } = await import('./server/database');
  await serverDatabase();
}
