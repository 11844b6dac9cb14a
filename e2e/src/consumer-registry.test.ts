// The consumer suite's registry: this build's tarballs published to a local
// verdaccio, and what a user's `npm view` then sees.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalRegistry, startLocalRegistry } from './consumers/registry.ts';
import { run } from './consumers/run.ts';

let registry: LocalRegistry;
beforeAll(async () => {
  registry = await startLocalRegistry();
}, 300_000);
afterAll(async () => {
  await registry?.stop();
});

it('serves the four public packages as published, and proxies the rest', async () => {
  expect(Object.keys(registry.published).sort()).toEqual([
    '@carburetor/client',
    '@carburetor/core',
    '@carburetor/react',
    '@carburetor/server',
  ]);
  for (const [name, version] of Object.entries(registry.published)) {
    const seen = await run('npm', ['view', `${name}@${version}`, 'version'], '/', registry.npmEnv);
    expect(seen.trim()).toBe(version);
  }
  const kysely = await run('npm', ['view', 'kysely@0.29.9', 'version'], '/', registry.npmEnv);
  expect(kysely.trim()).toBe('0.29.9');
});
