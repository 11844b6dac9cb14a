// No drift: the generated app depends on @carburetor/* at this package's own
// version (one changesets `fixed` group), and on the third-party versions
// this repository builds and tests with.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEMPLATE_DIR } from '../scaffold.ts';
import { ownVersion } from '../versions.ts';

const repoRoot = join(TEMPLATE_DIR, '../../..');
type Manifest = {
  name: string;
  version: string;
  packageManager?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
const manifest = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Manifest;

const workspaceManifests = [
  '.',
  'apps/web',
  'e2e',
  ...readdirSync(join(repoRoot, 'packages')).map((p) => `packages/${p}`),
].map((dir) => manifest(join(repoRoot, dir, 'package.json')));

const templateManifests = [
  'base/_package.json',
  'base/apps/web/_package.json',
  'base/packages/sync-config/_package.json',
].map((path) => ({ path, json: manifest(join(TEMPLATE_DIR, path)) }));

describe('the versions the generated app installs', () => {
  it('@carburetor/*: this package moves with them (fixed group, same version)', () => {
    const changesets = JSON.parse(
      readFileSync(join(repoRoot, '.changeset/config.json'), 'utf8'),
    ) as {
      fixed: string[][];
    };
    const group = changesets.fixed.find((names) => names.includes('@carburetor/core'));
    expect(group).toEqual(
      expect.arrayContaining([
        '@carburetor/server',
        '@carburetor/client',
        '@carburetor/react',
        'create-carburetor-app',
      ]),
    );
    for (const name of ['core', 'server', 'client', 'react']) {
      expect(manifest(join(repoRoot, 'packages', name, 'package.json')).version, name).toBe(
        ownVersion(),
      );
    }
    for (const { path, json } of templateManifests) {
      for (const [name, range] of Object.entries({
        ...json.dependencies,
        ...json.devDependencies,
      })) {
        if (name.startsWith('@carburetor/'))
          expect(range, `${path}: ${name}`).toBe('^{{carburetorVersion}}');
      }
    }
  });

  it('third-party: exactly the versions this repository pins (and so tests)', () => {
    const pinned = new Map<string, Set<string>>();
    for (const json of workspaceManifests) {
      for (const [name, version] of Object.entries({
        ...json.dependencies,
        ...json.devDependencies,
      })) {
        if (!/^\d/.test(version)) continue; // workspace: and ranges pin nothing
        pinned.set(name, (pinned.get(name) ?? new Set()).add(version));
      }
    }
    for (const { path, json } of templateManifests) {
      for (const [name, version] of Object.entries({
        ...json.dependencies,
        ...json.devDependencies,
      })) {
        if (name.startsWith('@carburetor/') || version === 'workspace:*') continue;
        expect(
          [...(pinned.get(name) ?? ['(not pinned in this repository)'])],
          `${path}: ${name}`,
        ).toContain(version);
      }
    }
    const root = manifest(join(repoRoot, 'package.json'));
    expect(templateManifests[0]?.json.packageManager).toBe(root.packageManager);
  });
});
