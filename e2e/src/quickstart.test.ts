// The README's quick start on a fresh copy of the repository: install, then
// `pnpm dev`, and the demo answers and works in Chromium (in dev mode, so the
// OPFS worker is bundled by Turbopack's dev server too).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstPage, newDevice } from './browser.ts';
import { addContact, signIn, waitSynced } from './demo.ts';
import { repoRoot } from './paths.ts';
import { killTree } from './process-tree.ts';
import { freePort, waitUntil } from './server.ts';

/** The one quick-start line of the README. */
const QUICK_START = 'npm i -g pnpm@12.4.2 && pnpm install && pnpm dev';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/**
 * A fresh copy of the repository as a clone would give it: the files git
 * tracks plus the new ones it does not ignore (so uncommitted work is
 * tested too), without node_modules, builds or databases.
 */
async function freshCopy(): Promise<string> {
  const target = await mkdtemp(join(tmpdir(), 'carburetor-quickstart-'));
  cleanups.push(() => rm(target, { recursive: true, force: true }));
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  )
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(repoRoot, f)));
  for (const file of files) {
    await mkdir(dirname(join(target, file)), { recursive: true });
    await copyFile(join(repoRoot, file), join(target, file));
  }
  return target;
}

describe("the README's quick start", () => {
  it('installs a fresh copy and brings up the demo with `pnpm dev`', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain(QUICK_START);

    const started = Date.now();
    const dir = await freshCopy();
    // pnpm is installed here already; the store is warm, so no network: --offline.
    execFileSync('pnpm', ['install', '--frozen-lockfile', '--offline'], {
      cwd: dir,
      stdio: 'pipe',
      timeout: 150_000,
    });
    const installed = Date.now();

    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      NEXT_TELEMETRY_DISABLED: '1',
    };
    delete env['DATABASE_URL']; // the quick start runs on the embedded PGlite
    delete env['NEXT_DIST_DIR'];
    const log: string[] = [];
    const dev = spawn('pnpm', ['dev'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    dev.stdout.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    dev.stderr.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    cleanups.push(() => (dev.pid ? killTree(dev.pid) : Promise.resolve()));

    // The URL next dev prints (PORT, unless something in between dropped it: then 3000 or the next free one).
    let origin = '';
    await waitUntil(
      async () => {
        if (dev.exitCode !== null) throw new Error(`pnpm dev exited with ${dev.exitCode}`);
        const local = /Local:\s+http:\/\/localhost:(\d+)/.exec(log.join(''));
        if (!local) return false;
        // localhost, as the README says: `next dev` serves its scripts to that origin.
        origin = `http://localhost:${local[1]}`;
        const response = await fetch(origin);
        return response.ok && (await response.text()).includes('Phone book');
      },
      'the demo started by `pnpm dev` to answer',
      120_000,
      () => log.join(''),
    );
    const answered = Date.now();

    const device = await newDevice('quickstart');
    const page = await firstPage(device.context);
    await signIn(page, origin, 'quickstart');
    await addContact(page, { name: 'First contact', phone: '123' });
    await waitSynced(page, 30_000);
    console.log(
      `quick start: copy + install ${installed - started} ms, pnpm dev answering after ${answered - installed} ms, signed in and synced after ${Date.now() - answered} ms (${origin})`,
    );
  }, 240_000);
});
