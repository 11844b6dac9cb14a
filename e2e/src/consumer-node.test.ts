// Consumer fixture (c): the packages as a user installs them (the tarballs
// `pnpm publish` would upload, from the local registry) in fresh Node apps
// outside the workspace, with only the optional driver each app uses. Each app
// type-checks its plain JavaScript against our declaration files, then runs
// `node server.mjs` (no tsx, no bundler): the sync router at /api/trpc and a
// browser app's built files beside it. Two Node clients sync a row through
// it, and in Chromium an insert on device A shows on B and in A's second tab.
// The browser app is the create-vite fixture's build (fixture (b)): a page
// needs a bundler, the server does not.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@carburetor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, installFixture } from './consumers/apps.ts';
import { type LocalRegistry, startLocalRegistry } from './consumers/registry.ts';
import { run, timed } from './consumers/run.ts';
import { checkInsertSyncs } from './consumers/sync-check.ts';

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

// The create-vite fixture's config (e2e/consumers/vite-app/src/sync-config.ts), in
// JavaScript: its built page syncs against this server.
const SYNC_CONFIG = `import { boolean, defineSyncConfig, table, text } from '@carburetor/core';

export const config = defineSyncConfig({
  tables: {
    todo: table(
      { plural: 'todos' },
      { owner_id: text().immutable(), title: text(), done: boolean().default(false) },
    ),
  },
  syncGroups: {
    // each user's own todos, read and write
    mine: { todo: { restrictTo: { column: 'owner_id', context: 'userId' } } },
  },
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

const SERVER = `import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { createSyncRouter, migrateServer } from '@carburetor/server';
import { initTRPC, TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { config } from './sync-config.mjs';
import { db } from './database.mjs';

await migrateServer(db, config); // idempotent; safe from every instance at once

/** @typedef {{ userId: string | undefined }} Context */
const t = /** @type {ReturnType<typeof initTRPC.context<Context>>} */ (initTRPC.context()).create();
const authed = t.procedure.use(({ ctx, next }) => {
  if (!ctx.userId) throw new TRPCError({ code: 'UNAUTHORIZED' });
  return next({ ctx });
});
const router = t.router({
  sync: createSyncRouter(config, { db, procedure: authed, context: (ctx) => ({ userId: ctx.userId }) }),
});

// This app's "auth": the signed-in user is the \`user\` cookie.
const api = createHTTPHandler({
  router,
  basePath: '/api/trpc/',
  createContext: ({ req }) => ({ userId: /(?:^|;\\s*)user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] }),
});

// The browser app's built files (\`vite build\`'s dist), if any; every other path is its page.
const site = process.env['STATIC_DIR'];
/** @type {Record<string, string>} */
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
};

/** @type {import('node:http').RequestListener} */
async function files(req, res) {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
  for (const file of site ? [join(site, path), join(site, 'index.html')] : []) {
    const body = await readFile(file).catch(() => undefined); // a folder or nothing: the page
    if (!body) continue;
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
    return;
  }
  res.writeHead(404).end();
}

const server = createServer((req, res) => {
  if (req.url?.startsWith('/api/trpc/')) api(req, res);
  else void files(req, res);
});
server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(\`listening on \${address.port}\`);
});
`;

const CLIENTS = `import { createSyncClient } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import { createTRPCUntypedClient, httpLink } from '@trpc/client';
import { config } from './sync-config.mjs';

const origin = process.argv[2] ?? '';
// Signed in as alice: the app's tRPC client sends her cookie.
const trpcClient = createTRPCUntypedClient({
  links: [httpLink({ url: \`\${origin}/api/trpc\`, headers: { cookie: 'user=alice' } })],
});
/** @param {string} name */
const open = (name) =>
  createSyncClient(config, {
    driver: memoryDriver({ name }),
    identity: 'alice',
    trpcClient,
    path: 'sync',
    groups: ['mine'],
  });
const a = await open('a');
const b = await open('b');
await a.insertTodo({ owner_id: 'alice', title: 'written on A' });
await a.sync();
await b.sync();
const todos = await b.activeTodos().execute();
console.log(JSON.stringify(todos.map((todo) => todo.title)));
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
let page: Awaited<ReturnType<typeof copyFixture>>;
const servers: ChildProcess[] = [];

beforeAll(async () => {
  // The global setup built dist/; publish what `pnpm publish` would upload.
  registry = await startLocalRegistry();
  database = await createTestDatabase('e2e_consumer_node');
  // The browser app the servers serve: the create-vite fixture, built.
  page = await copyFixture('vite-app');
  await timed('node apps: the vite page, npm install', () => installFixture(page.dir, registry));
  await timed('node apps: the vite page, npm run build', () =>
    run('npm', ['run', 'build'], page.dir),
  );
}, 600_000);

afterAll(async () => {
  for (const server of servers) server.kill('SIGKILL');
  await page?.remove();
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
  it(`${title}; it type-checks; plain node serves the router and the page; two Node clients sync, and in Chromium an insert on A shows on B and in a second tab of A`, async () => {
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

      const origin = await timed(`${driver} app: node server.mjs (migrates, listens)`, () =>
        startServer(dir, {
          STATIC_DIR: join(page.dir, 'dist'),
          ...(driver === 'pg' ? { DATABASE_URL: database.url } : { PGLITE_DIR: join(dir, 'data') }),
        }),
      );
      const printed = execFileSync(process.execPath, ['clients.mjs', origin], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(JSON.parse(printed.trim().split('\n').at(-1) ?? '')).toEqual(['written on A']);
      await checkInsertSyncs(origin, `node-${driver}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
