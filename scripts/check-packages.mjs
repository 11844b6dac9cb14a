// Packs every public package as `pnpm publish` would (built first: `pnpm build`)
// and checks each tarball the way a registry user meets it:
// - publint --strict: exports, files and fields that point at what the tarball holds;
// - @arethetypeswrong/cli, profile esm-only: the types resolve, under Node16 and
//   bundler resolution, to declaration files that match the JavaScript (packages
//   with exports; a bin-only one has none).
// Usage: node scripts/check-packages.mjs [--keep DIR]  (DIR keeps the tarballs: `pnpm release:dry`)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const PUBLIC_PACKAGES = ['core', 'server', 'client', 'react', 'create-carburetor-app'];

const root = new URL('..', import.meta.url).pathname;
const keep = process.argv.indexOf('--keep');
const kept = keep > 0 ? process.argv[keep + 1] : undefined;
const out = kept ? resolve(kept) : mkdtempSync(join(tmpdir(), 'carburetor-packs-'));
if (kept) {
  // Exactly this run's tarballs: nothing left over from an earlier version.
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
}

const bin = (name) => join(root, 'node_modules/.bin', name);
const run = (command, args, cwd) => {
  try {
    execFileSync(command, args, { cwd, stdio: 'pipe', encoding: 'utf8' });
    return undefined;
  } catch (error) {
    return `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || String(error);
  }
};

let failures = 0;
for (const name of PUBLIC_PACKAGES) {
  const dir = join(root, 'packages', name);
  const before = new Set(readdirSync(out));
  const packFailure = run('pnpm', ['pack', '--pack-destination', out], dir);
  const tarball = readdirSync(out).find((file) => !before.has(file) && file.endsWith('.tgz'));
  if (packFailure || !tarball) {
    failures += 1;
    console.log(`✗ packages/${name}: pnpm pack failed\n${packFailure ?? 'no tarball'}`);
    continue;
  }
  const path = join(out, tarball);
  const checks = [['publint --strict', run(bin('publint'), ['run', path, '--strict'], root)]];
  // A bin-only package (create-carburetor-app) has nothing to import, so no types to check.
  const { exports, main } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (exports || main) {
    checks.push([
      'attw --profile esm-only',
      run(bin('attw'), [path, '--profile', 'esm-only', '--format', 'ascii'], root),
    ]);
  } else {
    console.log(`- ${tarball}: attw skipped: a bin-only package, nothing to import`);
  }
  for (const [check, failure] of checks) {
    if (failure) failures += 1;
    console.log(`${failure ? '✗' : '✓'} ${tarball}: ${check}${failure ? `\n${failure}` : ''}`);
  }
}
if (!kept) rmSync(out, { recursive: true, force: true });
else console.log(`tarballs in ${out}`);
process.exit(failures > 0 ? 1 : 0);
