import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, chromiumPath } from '@carburetor/testing/chromium';
import { type BrowserContext, chromium } from 'playwright-core';
import { build, createServer as createViteServer } from 'vite';

export { chromiumPath };

const here = fileURLToPath(new URL('.', import.meta.url));
export const resultsDir = resolve(here, '../test-results/browser');

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
 * driver must not need cross-origin isolation. `api`, when given, answers
 * every request under `/trpc/` (same origin as the page: no CORS).
 */
export async function startTestSite(api?: RequestListener): Promise<TestSite> {
  const outDir = await mkdtemp(join(tmpdir(), 'carburetor-browser-page-'));
  await build({ configFile: join(here, 'vite.config.ts'), build: { outDir } });
  const server: Server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://x').pathname;
    if (api && pathname.startsWith('/trpc/')) {
      api(request, response);
      return;
    }
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

/** A fresh Chromium profile directory; pass it to {@link launch} again to "restart the browser". */
export function freshProfile(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'carburetor-chromium-'));
}

/**
 * Launches Chromium on `profileDir` with the flags that work on our machines
 * (see the architecture notes).
 */
export function launchChromium(
  profileDir: string,
  extraArgs: readonly string[] = [],
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}
