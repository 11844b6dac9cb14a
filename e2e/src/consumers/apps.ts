// A consumer fixture (e2e/consumers/<name>) copied out of the workspace and
// installed from the local registry as its own npm project.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { repoRoot } from '../paths.ts';
import type { LocalRegistry } from './registry.ts';
import { run } from './run.ts';

/** What a fixture's folder may hold (at its top) that a fresh checkout of the app would not. */
const NOT_COPIED = new Set(['node_modules', '.next', 'data', 'dist', 'tsconfig.tsbuildinfo']);

interface LockEntry {
  version?: string;
  integrity?: string;
}
interface Lockfile {
  packages: Record<string, LockEntry>;
}

const OURS = /^node_modules\/@carburetor\//;

/** A copy of `e2e/consumers/<name>` in a temporary folder, outside the workspace. */
export async function copyFixture(name: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), `carburetor-consumer-${name}-`));
  const dir = join(parent, name);
  const fixture = join(repoRoot, 'e2e/consumers', name);
  await cp(fixture, dir, {
    recursive: true,
    filter: (source) => !NOT_COPIED.has(relative(fixture, source)),
  });
  return { dir, remove: () => rm(parent, { recursive: true, force: true }) };
}

/**
 * The packages docs/guide.md's install line names (`npm install ...`), so a
 * fixture's package.json is checked against what the guide tells a user.
 */
export async function guideInstallLine(): Promise<string[]> {
  const guide = await readFile(join(repoRoot, 'docs/guide.md'), 'utf8');
  const line = /```sh\n(npm install [^`]*?)\n```/.exec(guide)?.[1];
  if (!line) throw new Error('consumers: docs/guide.md has no ```sh npm install ...``` block');
  return line
    .replace(/\\\n/g, ' ')
    .split(/\s+/)
    .filter((word) => word && word !== 'npm' && word !== 'install');
}

/**
 * Installs a copied fixture with `npm install` from the local registry.
 *
 * The fixture's package.json is the app after the guide's install line ran,
 * and its package-lock.json pins every third-party package (version and
 * integrity; no `resolved` host, see its .npmrc). Our tarballs change their
 * integrity with every build, so their lock entries are dropped first and
 * our dependencies' ranges follow the published version: `npm install` then
 * takes ours fresh from the local registry and keeps every other pin. The
 * install fails when it had to move a third-party pin (a new dependency of
 * ours, say): update the fixture's lockfile then, as its README says.
 */
export async function installFixture(dir: string, registry: LocalRegistry): Promise<void> {
  const packageJsonPath = join(dir, 'package.json');
  const lockPath = join(dir, 'package-lock.json');
  const packageJson = JSON.parse(await readFile(packageJsonPath, 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const [name, version] of Object.entries(registry.published)) {
    if (name in packageJson.dependencies) packageJson.dependencies[name] = `^${version}`;
  }
  await writeFile(packageJsonPath, `${JSON.stringify(packageJson, null, 2)}\n`);

  const committed = JSON.parse(await readFile(lockPath, 'utf8')) as Lockfile;
  const stripped: Lockfile = {
    ...committed,
    packages: Object.fromEntries(
      Object.entries(committed.packages).filter(([path]) => !OURS.test(path)),
    ),
  };
  await writeFile(lockPath, `${JSON.stringify(stripped, null, 2)}\n`);

  await run('npm', ['install', '--no-audit', '--no-fund'], dir, registry.npmEnv);

  const installed = JSON.parse(await readFile(lockPath, 'utf8')) as Lockfile;
  const moved: string[] = [];
  for (const [path, entry] of Object.entries(installed.packages)) {
    if (path === '' || OURS.test(path)) continue;
    const pinned = committed.packages[path];
    if (pinned?.version !== entry.version || pinned?.integrity !== entry.integrity) {
      moved.push(`${path}: ${pinned?.version ?? '(not in the lockfile)'} → ${entry.version}`);
    }
  }
  if (moved.length > 0) {
    throw new Error(
      `consumers: installing ${basename(dir)} moved third-party pins of its committed lockfile:\n${moved.join('\n')}`,
    );
  }
}
