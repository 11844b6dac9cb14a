import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_DIST_DIR, webDir } from './paths.ts';

/**
 * Builds the demo once per run (`next build` into `.next-e2e`); every server
 * the tests start serves that build. `E2E_SKIP_BUILD=1` reuses the last
 * build (iterating on the tests alone).
 */
export default async function setup(): Promise<void> {
  if (process.env['E2E_SKIP_BUILD'] === '1' && existsSync(join(webDir, E2E_DIST_DIR, 'BUILD_ID'))) {
    console.log(`e2e: reusing apps/web/${E2E_DIST_DIR} (E2E_SKIP_BUILD=1)`);
    return;
  }
  const started = Date.now();
  const output: string[] = [];
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(join(webDir, 'node_modules/.bin/next'), ['build'], {
      cwd: webDir,
      env: {
        ...process.env,
        NEXT_DIST_DIR: E2E_DIST_DIR,
        // `tsc` checks the app separately (its `typecheck` script).
        NEXT_SKIP_TYPECHECK: '1',
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('error', fail);
    child.on('exit', done);
  });
  if (code !== 0) {
    throw new Error(`e2e: \`next build\` in apps/web failed (exit ${code}):\n${output.join('')}`);
  }
  console.log(`e2e: built apps/web into ${E2E_DIST_DIR} in ${Date.now() - started} ms`);
}
