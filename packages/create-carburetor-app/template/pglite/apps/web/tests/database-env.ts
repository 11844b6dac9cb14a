import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The tests' database: a fresh PGlite in a temporary folder, removed afterwards. */
export async function databaseEnv(): Promise<{
  env: Record<string, string>;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'app-test-pglite-'));
  return {
    env: { PGLITE_DIR: join(dir, 'data') },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
