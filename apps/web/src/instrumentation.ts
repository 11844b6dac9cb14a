/** Opens (and on the first start creates and migrates) the server database as the server starts. */
export async function register(): Promise<void> {
  if (process.env['NEXT_RUNTIME'] !== 'nodejs') return;
  const { serverDatabase } = await import('./server/database.ts');
  const started = Date.now();
  const { kind, where } = await serverDatabase();
  console.log(`carburetor: ${kind} database ready in ${Date.now() - started} ms (${where})`);
}
