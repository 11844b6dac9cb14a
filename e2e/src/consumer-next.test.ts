// Consumer fixture (a): a create-next-app App Router app (default tsconfig)
// with only what docs/guide.md tells a user to write, installed from the
// local registry, type-checked, built with Turbopack and with webpack, each
// build served by `next start` and checked in Chromium.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, guideInstallLine, installFixture } from './consumers/apps.ts';
import { type LocalRegistry, startLocalRegistry } from './consumers/registry.ts';
import { run, timed } from './consumers/run.ts';
import { type AppServer, serveApp } from './consumers/serve.ts';
import { checkInsertSyncs } from './consumers/sync-check.ts';

const NEXT_ENV: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

let registry: LocalRegistry;
let app: Awaited<ReturnType<typeof copyFixture>>;
let server: AppServer | undefined;

beforeAll(async () => {
  registry = await startLocalRegistry();
  app = await copyFixture('next-app');
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await app?.remove();
  await registry?.stop();
});

/** A command the fixture's install put in its node_modules/.bin. */
const bin = (name: string) => join(app.dir, 'node_modules/.bin', name);

describe.sequential('a create-next-app App Router app', () => {
  it("depends on exactly what the guide's install line names (PGlite for pg)", async () => {
    const { dependencies } = JSON.parse(await readFile(join(app.dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const guide = (await guideInstallLine()).map((name) =>
      name === 'pg' ? '@electric-sql/pglite' : name,
    );
    expect(Object.keys(dependencies).sort()).toEqual(
      [...guide, 'next', 'react', 'react-dom'].sort(),
    );
  });

  it('installs from the registry, type-checks and builds with Turbopack', async () => {
    await timed('next-app: npm install', () => installFixture(app.dir, registry));
    // Route types (LayoutProps) come from `next typegen`, as `next build` makes them.
    await timed('next-app: next typegen + tsc --noEmit', async () => {
      await run(bin('next'), ['typegen'], app.dir, NEXT_ENV);
      await run(bin('tsc'), ['--noEmit'], app.dir, NEXT_ENV);
    });
    await timed('next-app: next build (Turbopack)', () =>
      run(bin('next'), ['build'], app.dir, NEXT_ENV),
    );
  }, 600_000);

  it('under next start (Turbopack build), an insert on device A shows on B and in a second tab of A', async () => {
    await startAndCheck('Turbopack build', 'next-turbopack');
  }, 300_000);

  it('builds with next build --webpack', async () => {
    await timed('next-app: next build --webpack', () =>
      run(bin('next'), ['build', '--webpack'], app.dir, NEXT_ENV),
    );
  }, 600_000);

  it('under next start (webpack build), an insert on device A shows on B and in a second tab of A', async () => {
    await startAndCheck('webpack build', 'next-webpack');
  }, 300_000);
});

/** Serves the last build with `next start` and checks in Chromium that an insert syncs. */
async function startAndCheck(build: string, label: string): Promise<void> {
  server = await timed(`next-app: next start (${build})`, () =>
    serveApp(app.dir, bin('next'), (port) => [
      'start',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
    ]),
  );
  await checkInsertSyncs(server.origin, label);
  await server.stop();
  server = undefined;
}
