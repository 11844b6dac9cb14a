// Node-side helpers of the browser suite: build and serve the test page,
// launch Debian's Chromium, keep console and screenshot of failed tests.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, createServer as createViteServer } from 'vite';
import { onTestFinished } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
export const resultsDir = resolve(here, '../test-results/browser');

/** The Chromium the suite drives: CHROMIUM_PATH, else Debian's. */
export function chromiumPath(): string {
  const path = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `No Chromium at ${path}: the browser tests need one. Install Debian's (\`apt-get install -y chromium\`, or run scripts/ensure-chromium.sh as root), or set CHROMIUM_PATH to a Chromium executable.`,
    );
  }
  return path;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

export interface TestSite {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Builds the test page with `vite build` (what an app ships) and serves it
 * from 127.0.0.1, a secure context, with no COOP/COEP headers: the OPFS
 * driver must not need cross-origin isolation.
 */
export async function startTestSite(): Promise<TestSite> {
  const outDir = await mkdtemp(join(tmpdir(), 'carburetor-browser-page-'));
  await build({ configFile: join(here, 'vite.config.ts'), build: { outDir } });
  const server: Server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://x').pathname;
    const file = normalize(join(outDir, pathname === '/' ? 'index.html' : pathname));
    if (!file.startsWith(outDir)) {
      response.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => {
        response.writeHead(200, {
          'content-type': MIME[extname(file)] ?? 'application/octet-stream',
          'cache-control': 'no-store',
        });
        response.end(body);
      },
      () => response.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/**
 * Serves the test page from Vite's dev server, as an app in development
 * would, with a fresh dependency cache (so the optimizer runs as on a first
 * start).
 */
export async function startDevSite(): Promise<{ origin: string; close(): Promise<void> }> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'carburetor-vite-cache-'));
  const server = await createViteServer({
    configFile: join(here, 'vite.config.ts'),
    cacheDir,
    server: { host: '127.0.0.1', port: 0 },
  });
  await server.listen();
  const origin = server.resolvedUrls?.local[0];
  if (!origin) throw new Error('The Vite dev server did not report its URL.');
  return {
    origin,
    close: async () => {
      await server.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

/** The launch flags that work on our machines (see the architecture notes). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A fresh Chromium profile directory; pass it to {@link launch} again to "restart the browser". */
export function freshProfile(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'carburetor-chromium-'));
}

/**
 * Launches Chromium on `profileDir` for the running test. When the test
 * ends the browser is closed, after a failed test has left each page's
 * console and a screenshot in test-results/browser/.
 */
export async function launch(
  profileDir: string,
  extraArgs: readonly string[] = [],
): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  onTestFinished(async ({ task }) => {
    if (task.result?.state === 'fail') {
      await mkdir(resultsDir, { recursive: true });
      for (const page of context.pages()) {
        const record = records.get(page);
        if (!record) continue;
        const base = join(resultsDir, record.label.replace(/[^\w.-]+/g, '-'));
        await writeFile(`${base}.console.txt`, `${record.log.join('\n')}\n`);
        await page.screenshot({ path: `${base}.png` }).catch(() => undefined);
      }
    }
    await context.close().catch(() => undefined);
  });
  return context;
}

/** Each test page's name and console, kept for a failed test's dump. */
const records = new WeakMap<Page, { readonly label: string; readonly log: string[] }>();

/**
 * Opens `url` in the context's page, records its console (for the dump of
 * a failed test, see {@link launch}) and waits for the test page to be ready.
 * Give it a context to use its first tab, or a page (`context.newPage()`) for another tab.
 */
export async function openPage(
  target: BrowserContext | Page,
  url: string,
  label: string,
): Promise<Page> {
  const page = 'goto' in target ? target : (target.pages()[0] ?? (await target.newPage()));
  const log: string[] = [];
  records.set(page, { label, log });
  page.on('console', (message) => log.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => log.push(`[pageerror] ${error.stack ?? error.message}`));
  page.on('worker', (worker) => {
    log.push(`[worker started] ${worker.url()}`);
    worker.on('close', () => log.push(`[worker closed] ${worker.url()}`));
  });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  return page;
}
