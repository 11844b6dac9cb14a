// Consumer fixture (b): a create-vite React app (react-ts template, its
// default `tsc -b && vite build`) with only what docs/guide.md tells a user to
// write, its API the guide's plain Node server on PostgreSQL. Installed from
// the local registry, built, served by `vite preview` (proxying /api/trpc to
// `node server/main.ts`) and checked in Chromium.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@carburetor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, guideInstallLine, installFixture } from './consumers/apps.ts';
import { type LocalRegistry, startLocalRegistry } from './consumers/registry.ts';
import { run, timed } from './consumers/run.ts';
import { type AppServer, serveApp } from './consumers/serve.ts';
import { checkInsertSyncs } from './consumers/sync-check.ts';

let registry: LocalRegistry;
let database: TestDatabase;
let app: Awaited<ReturnType<typeof copyFixture>>;
const servers: AppServer[] = [];

beforeAll(async () => {
  registry = await startLocalRegistry();
  database = await createTestDatabase('e2e_consumer_vite');
  app = await copyFixture('vite-app');
}, 300_000);

afterAll(async () => {
  for (const server of servers) await server.stop();
  await app?.remove();
  await database?.drop();
  await registry?.stop();
});

describe.sequential('a create-vite React app with a plain Node API', () => {
  it("depends on exactly what the guide's install line names", async () => {
    const { dependencies } = JSON.parse(await readFile(join(app.dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(dependencies).sort()).toEqual(
      [...(await guideInstallLine()), 'react', 'react-dom'].sort(),
    );
  });

  it('installs from the registry and builds with its own tsc -b && vite build', async () => {
    await timed('vite-app: npm install', () => installFixture(app.dir, registry));
    await timed('vite-app: npm run build (tsc -b && vite build)', () =>
      run('npm', ['run', 'build'], app.dir),
    );
  }, 600_000);

  it('under vite preview and node server/main.ts, an insert on device A shows on B and in a second tab of A', async () => {
    const api = await timed('vite-app: node server/main.ts (migrates, listens)', () =>
      serveApp(app.dir, process.execPath, () => ['server/main.ts'], {
        anyAnswer: true,
        env: { DATABASE_URL: database.url },
      }),
    );
    servers.push(api);
    // The API's port, for the app's proxy, is only known once it listens.
    const preview = await timed('vite-app: vite preview', () =>
      serveApp(
        app.dir,
        join(app.dir, 'node_modules/.bin/vite'),
        (port) => ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
        { env: { API_PORT: String(api.port) } },
      ),
    );
    servers.push(preview);
    await checkInsertSyncs(preview.origin, 'vite');
  }, 300_000);
});
