import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, chromiumPath } from '@carburetor/testing/chromium';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

export { chromiumPath };

const here = fileURLToPath(new URL('.', import.meta.url));

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

export interface TestSite {
  /** `http://127.0.0.1:<port>`: a secure context, so OPFS exists. */
  readonly origin: string;
  close(): Promise<void>;
}

/** `vite build`s the page (production React, as an app ships) and serves it with no COOP/COEP headers. */
export async function startTestSite(): Promise<TestSite> {
  const outDir = await mkdtemp(join(tmpdir(), 'carburetor-react-page-'));
  await build({ configFile: join(here, 'vite.config.ts'), build: { outDir } });
  const server = createServer((request, response) => {
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
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/** Chromium on a fresh profile; `close()` also deletes the profile. */
export async function launchChromium(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const profile = await mkdtemp(join(tmpdir(), 'carburetor-react-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `url` in `page`, keeping its console in `log`, and waits until the
 * page says it is ready (its client opened and its list rendered).
 */
export async function openPage(page: Page, url: string, log: string[] = []): Promise<Page> {
  page.on('console', (message) => log.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => log.push(`[pageerror] ${error.stack ?? error.message}`));
  await page.goto(url);
  await page.waitForFunction(
    () => {
      const text = document.getElementById('status')?.textContent ?? '';
      if (text.startsWith('error')) throw new Error(text);
      return text === 'ready';
    },
    undefined,
    { timeout: 30_000 },
  );
  return page;
}
