import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './consumers/run.ts';
import { E2E_DIST_DIR, repoRoot, webDir } from './paths.ts';

/**
 * Builds the demo once per run, as a user's app gets it: the packages' dist
 * (turbo, cached when unchanged), then `next build` into `.next-e2e`; every
 * server the tests start serves that build. `E2E_SKIP_BUILD=1` reuses the last
 * build (iterating on the tests alone).
 */
export default async function setup(): Promise<void> {
  const started = Date.now();
  await run(
    'pnpm',
    ['turbo', 'run', 'build', '--filter=@carburetor/web^...'],
    repoRoot,
    process.env,
  );
  if (process.env['E2E_SKIP_BUILD'] === '1' && existsSync(join(webDir, E2E_DIST_DIR, 'BUILD_ID'))) {
    console.log(`e2e: reusing apps/web/${E2E_DIST_DIR} (E2E_SKIP_BUILD=1)`);
    return;
  }
  await run(join(webDir, 'node_modules/.bin/next'), ['build'], webDir, {
    ...process.env,
    NEXT_DIST_DIR: E2E_DIST_DIR,
    // `tsc` checks the app separately (its `typecheck` script).
    NEXT_SKIP_TYPECHECK: '1',
    NEXT_TELEMETRY_DISABLED: '1',
  });
  console.log(`e2e: built apps/web into ${E2E_DIST_DIR} in ${Date.now() - started} ms`);
}
