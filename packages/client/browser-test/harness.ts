// Node-side helpers of the browser suite: the site and Chromium (site.ts),
// plus each test's browser, console and screenshot of failed tests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { onTestFinished } from 'vitest';
import { launchChromium, resultsDir } from './site.ts';

export {
  chromiumPath,
  freshProfile,
  resultsDir,
  startDevSite,
  startTestSite,
  type TestSite,
} from './site.ts';

/**
 * Launches Chromium on `profileDir` for the running test. When the test
 * ends the browser is closed, after a failed test has left each page's
 * console and a screenshot in test-results/browser/.
 */
export async function launch(
  profileDir: string,
  extraArgs: readonly string[] = [],
): Promise<BrowserContext> {
  const context = await launchChromium(profileDir, extraArgs);
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
