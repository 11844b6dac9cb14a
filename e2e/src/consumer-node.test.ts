// The packages as a user installs them: the tarballs `pnpm publish` would
// upload, published to a local registry (./consumers/registry.ts) and
// installed with `npm install` into fresh Node apps outside the workspace,
// with only the optional driver each app uses. Each app type-checks its plain JavaScript
// against our declaration files, then runs with plain `node` (no tsx, no
// bundler): a sync server, and two clients that sync a row through it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@carburetor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRegistry, startLocalRegistry } from './consumers/registry.ts';
import { run, timed } from './consumers/run.ts';

// Third-party versions pinned to the workspace's lockfile's.
const VERSIONS = {
  '@trpc/server': '11.19.0',
  '@trpc/client': '11.19.0',
  kysely: '0.29.9',
  zod: '4.6.7',
  pg: '8.23.1',
  '@electric-sql/pglite': '0.5.16',
  typescript: '5.9.3',
  '@types/node': '22.20.7',
  '@types/pg': '8.23.1',
};

const SYNC_CONFIG = `import { defineSyncConfig, table, text } from '@carburetor/core';

export const config = defineSyncConfig({
  tables: { note: table({ plural: 'notes' }, { body: text() }) },
  syncGroups: { notes: { note: true } },
});
`;

const DATABASE = {
  pg: `import { createPgKysely } from '@carburetor/server';

export const db = createPgKysely(process.env['DATABASE_URL'] ?? '');
`,
  pglite: `import { PGlite } from '@electric-sql/pglite';
import { createPgliteKysely } from '@carburetor/server';

export const db = createPgliteKysely(new PGlite(process.env['PGLITE_DIR'] ?? './data'));
`,
};

const SERVER = `import { createServer } from 'node:http';
import { createSyncRouter, migrateServer } from '@carburetor/server';
import { initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { config } from './sync-config.mjs';
import { db } from './database.mjs';

await migrateServer(db, config);
const t = initTRPC.create();
const router = t.router({ sync: createSyncRouter(config, { db, procedure: t.procedure }) });
const server = createServer(createHTTPHandler({ router }));
server.listen(0, '127.0.0.1', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(\`listening on \${address.port}\`);
});
`;

const CLIENTS = `import { createSyncClient } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import { config } from './sync-config.mjs';

const url = process.argv[2] ?? '';
/** @param {string} name */
const open = (name) =>
  createSyncClient(config, { driver: memoryDriver({ name }), url, path: 'sync', groups: ['notes'] });
const a = await open('a');
const b = await open('b');
await a.insertNote({ body: 'written on A' });
await a.sync();
await b.sync();
const notes = await b.activeNotes().execute();
console.log(JSON.stringify(notes.map((note) => note.body)));
await a.close();
await b.close();
`;

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    target: 'es2022',
    // A demanding app's settings: the declaration files must hold under them.
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    allowJs: true,
    checkJs: true,
    skipLibCheck: true,
    types: ['node'],
  },
  include: ['*.mjs'],
};

let registry: LocalRegistry;
let database: TestDatabase;
const servers: ChildProcess[] = [];

beforeAll(async () => {
  // The global setup built dist/; publish what `pnpm publish` would upload.
  registry = await startLocalRegistry();
  database = await createTestDatabase('e2e_packed_node');
}, 300_000);

afterAll(async () => {
  for (const server of servers) server.kill('SIGKILL');
  await database?.drop();
  await registry?.stop();
});

/** A fresh app folder with our packages from the registry, its driver, and nothing else of ours. */
async function createApp(driver: 'pg' | 'pglite'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `carburetor-app-${driver}-`));
  const ours = Object.fromEntries(
    ['@carburetor/core', '@carburetor/server', '@carburetor/client'].map((name) => [
      name,
      `^${registry.published[name]}`,
    ]),
  );
  const pick = (names: string[]) =>
    Object.fromEntries(names.map((name) => [name, VERSIONS[name as keyof typeof VERSIONS]]));
  const packageJson = {
    name: `carburetor-app-${driver}`,
    private: true,
    type: 'module',
    dependencies: {
      ...ours,
      ...pick(['@trpc/server', '@trpc/client', 'kysely', 'zod']),
      ...pick(driver === 'pg' ? ['pg'] : ['@electric-sql/pglite']),
    },
    devDependencies: pick(
      driver === 'pg' ? ['typescript', '@types/node', '@types/pg'] : ['typescript', '@types/node'],
    ),
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  await writeFile(join(dir, 'sync-config.mjs'), SYNC_CONFIG);
  await writeFile(join(dir, 'database.mjs'), DATABASE[driver]);
  await writeFile(join(dir, 'server.mjs'), SERVER);
  await writeFile(join(dir, 'clients.mjs'), CLIENTS);
  await mkdir(join(dir, 'data'));
  await timed(`${driver} app: npm install`, () =>
    run('npm', ['install', '--no-audit', '--no-fund'], dir, registry.npmEnv),
  );
  return dir;
}

/** Whether a package resolves from the app's folder. */
function installed(dir: string, name: string): boolean {
  try {
    execFileSync(process.execPath, ['-e', `import(${JSON.stringify(name)})`], {
      cwd: dir,
      stdio: 'pipe',
    });
    return true;
  } catch {
    return false;
  }
}

/** Starts `node server.mjs` and resolves with its URL once it listens. */
function startServer(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  servers.push(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      const port = /listening on (\d+)/.exec(output.join(''))?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    });
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('exit', (code) =>
      reject(new Error(`server.mjs exited (${code}):\n${output.join('')}`)),
    );
  });
}

describe.each([
  ['pg', 'a pg-only app: no PGlite installed'],
  ['pglite', 'a PGlite-only app: no pg installed'],
] as const)('the packed packages in %s', (driver, title) => {
  it(`${title}; it type-checks, serves the sync router with plain node, and two clients sync through it`, async () => {
    const dir = await createApp(driver);
    try {
      const other = driver === 'pg' ? '@electric-sql/pglite' : 'pg';
      expect(installed(dir, driver === 'pg' ? 'pg' : '@electric-sql/pglite')).toBe(true);
      expect(installed(dir, other)).toBe(false);

      const tsc = join(dir, 'node_modules/.bin/tsc');
      const typeErrors = (() => {
        try {
          execFileSync(tsc, ['-p', 'tsconfig.json'], { cwd: dir, stdio: 'pipe', encoding: 'utf8' });
          return '';
        } catch (error) {
          return String((error as { stdout?: string }).stdout ?? error);
        }
      })();
      expect(typeErrors).toBe('');

      const url = await startServer(
        dir,
        driver === 'pg' ? { DATABASE_URL: database.url } : { PGLITE_DIR: join(dir, 'data') },
      );
      const printed = execFileSync(process.execPath, ['clients.mjs', url], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(JSON.parse(printed.trim().split('\n').at(-1) ?? '')).toEqual(['written on A']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
