// `pnpm create carburetor-app`, as a user runs it, against the consumer
// suite's local registry (this build's `pnpm release:dry` tarballs, the CLI's
// included; third-party packages proxied): the scaffolded app installs with
// pnpm, type-checks, builds with turbo (and caches the build), serves under
// `pnpm dev`, and its own tests pass, its Chromium test included. Then the
// other options: PostgreSQL at DATABASE_URL, without the example.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { createTestDatabase, type TestDatabase } from '@carburetor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRegistry, startLocalRegistry } from './consumers/registry.ts';
import { run, timed } from './consumers/run.ts';
import { type AppServer, serveApp } from './consumers/serve.ts';

let registry: LocalRegistry;
let parent: string;
let env: NodeJS.ProcessEnv;
let server: AppServer | undefined;
let database: TestDatabase | undefined;

beforeAll(async () => {
  registry = await startLocalRegistry();
  parent = await mkdtemp(join(tmpdir(), 'carburetor-create-app-'));
  env = {
    ...registry.npmEnv,
    // pnpm 12 reads pnpm_config_* (npm's npm_config_* are not its settings):
    // the local registry, and a cache of this run's own, so `pnpm create`
    // runs this build's CLI rather than one an earlier run cached.
    pnpm_config_registry: registry.url,
    pnpm_config_cache_dir: join(parent, '.pnpm-cache'),
    NEXT_TELEMETRY_DISABLED: '1',
    TURBO_TELEMETRY_DISABLED: '1',
  };
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await database?.drop();
  if (parent) await rm(parent, { recursive: true, force: true });
  await registry?.stop();
});

describe.sequential('pnpm create carburetor-app my-app (PGlite, with the example)', () => {
  const app = () => join(parent, 'my-app');

  it('scaffolds and installs, the @carburetor/* versions those just published', async () => {
    const output = await timed(
      'create-app: pnpm create carburetor-app my-app --yes (+ pnpm install)',
      () => run('pnpm', ['create', 'carburetor-app', 'my-app', '--yes'], parent, env),
    );
    expect(output).toContain('Created my-app in my-app');
    const web = JSON.parse(await readFile(join(app(), 'apps/web/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of [
      '@carburetor/core',
      '@carburetor/server',
      '@carburetor/client',
      '@carburetor/react',
    ]) {
      expect(web.dependencies[name]).toBe(`^${registry.published[name]}`);
    }
    expect(registry.published['create-carburetor-app']).toBe(
      registry.published['@carburetor/core'],
    );
    expect(web.dependencies['pg']).toBeUndefined();
  }, 600_000);

  it('type-checks, and builds with turbo: a second build is a cache hit', async () => {
    await timed('create-app: pnpm typecheck', () => run('pnpm', ['typecheck'], app(), env));
    await timed('create-app: pnpm build', () => run('pnpm', ['build'], app(), env));
    expect(existsSync(join(app(), 'apps/web/.next/BUILD_ID'))).toBe(true);
    const again = await run('pnpm', ['build'], app(), env);
    expect(again).toContain('@my-app/web:build: cache hit');
    expect(again).not.toContain('no output files found');
  }, 600_000);

  it("serves the sign-in page under pnpm dev (the README's first command)", async () => {
    server = await timed('create-app: pnpm dev, first page', () =>
      serveApp(app(), 'pnpm', () => ['dev'], {
        env: { PGLITE_DIR: join(parent, 'dev-pglite'), TURBO_TELEMETRY_DISABLED: '1' },
      }),
    );
    const page = await (await fetch(server.origin)).text();
    expect(page).toContain('Sign in');
    await server.stop();
    server = undefined;
  }, 300_000);

  it('passes its own tests (pnpm test), the Chromium one included', async () => {
    const output = await timed('create-app: pnpm test', () => run('pnpm', ['test'], app(), env));
    expect(stripVTControlCharacters(output)).toMatch(/Tests\s+3 passed \(3\)/);
  }, 600_000);
});

describe('under npm', () => {
  it('refuses, naming the pnpm command, and writes nothing', async () => {
    // As from a user's shell: not the user agent of the pnpm that runs this suite, which npm
    // would take as its own setting (`npm_config_user_agent`) and pass on.
    const { npm_config_user_agent: _, ...shell } = registry.npmEnv;
    const failure = await run(
      'npm',
      ['exec', '--yes', '--', 'create-carburetor-app', 'npm-app', '--yes'],
      parent,
      shell,
    ).then(
      () => 'it ran',
      (error: Error) => error.message,
    );
    expect(failure).toContain('runs only under pnpm, not npm');
    expect(failure).toContain('pnpm create carburetor-app my-app');
    expect(existsSync(join(parent, 'npm-app'))).toBe(false);
  }, 120_000);
});

describe.sequential('pnpm create carburetor-app pg-app --database pg --no-example --no-install', () => {
  const app = () => join(parent, 'pg-app');

  it('scaffolds without installing; pnpm install, typecheck, build and its tests pass on PostgreSQL', async () => {
    await timed('create-app: pnpm create (pg, no example, no install)', () =>
      run(
        'pnpm',
        ['create', 'carburetor-app', 'pg-app', '--database', 'pg', '--no-example', '--no-install'],
        parent,
        env,
      ),
    );
    expect(existsSync(join(app(), 'node_modules'))).toBe(false);
    expect(await readFile(join(app(), 'packages/sync-config/src/index.ts'), 'utf8')).not.toContain(
      'todo',
    );
    await timed('create-app: pg-app pnpm install', () => run('pnpm', ['install'], app(), env));
    await timed('create-app: pg-app typecheck + build', async () => {
      await run('pnpm', ['typecheck'], app(), env);
      await run('pnpm', ['build'], app(), env);
    });
    database = await createTestDatabase('create_app');
    const output = await timed('create-app: pg-app pnpm test', () =>
      run('pnpm', ['test'], app(), { ...env, DATABASE_URL: database?.url }),
    );
    expect(stripVTControlCharacters(output)).toMatch(/Tests\s+2 passed \(2\)/);
  }, 900_000);
});
