import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_ARGS, chromiumPath } from '@carburetor/testing/chromium';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { onTestFinished } from 'vitest';
import { resultsDir } from './paths.ts';

export { chromiumPath };

/** One "device": a Chromium profile directory, launched and relaunched (browser restart). */
export interface Device {
  readonly label: string;
  readonly profileDir: string;
  context: BrowserContext;
  /** Closes the browser and launches it again on the same profile (cookies, OPFS kept). */
  restart(): Promise<BrowserContext>;
}

/** Each page's label and console, for the dump of a failed test. */
const logs = new WeakMap<Page, { label: string; lines: string[] }>();

/** Records a page's console, errors and workers, for the dump of a failed test. */
export function recordConsole(page: Page, label: string): void {
  if (logs.has(page)) return;
  const lines: string[] = [];
  logs.set(page, { label, lines });
  page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.stack ?? e.message}`));
  page.on('requestfailed', (r) =>
    lines.push(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`),
  );
}

async function launch(profileDir: string, label: string): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1100, height: 800 },
  });
  context.on('page', (page) => recordConsole(page, `${label}-tab${context.pages().length}`));
  for (const page of context.pages()) recordConsole(page, `${label}-tab1`);
  return context;
}

async function dump(context: BrowserContext, testName: string): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  for (const page of context.pages()) {
    const record = logs.get(page);
    const base = join(
      resultsDir,
      `${testName}-${record?.label ?? 'page'}`.replace(/[^\w.-]+/g, '-').slice(0, 150),
    );
    // The sync client's own view, when the page has one: status, and whether this tab owns the replica.
    const state = await page
      .evaluate(() => {
        const handle = window.__carburetor;
        return JSON.stringify(
          handle ? { status: handle.client.status, isOwner: handle.driver.isOwner } : null,
        );
      })
      .catch((e: unknown) => `(unavailable: ${String(e)})`);
    await writeFile(
      `${base}.console.txt`,
      `${page.url()}\nsync client: ${state}\n${(record?.lines ?? []).join('\n')}\n`,
    );
    await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => undefined);
  }
}

/**
 * A fresh Chromium profile, launched, for the running test: closed when the
 * test ends, after a failed test left each page's screenshot and console in
 * test-results/.
 */
export async function newDevice(label: string): Promise<Device> {
  const profileDir = await mkdtemp(join(tmpdir(), `carburetor-e2e-${label}-`));
  const device: Device = {
    label,
    profileDir,
    context: await launch(profileDir, label),
    async restart() {
      await device.context.close();
      device.context = await launch(profileDir, label);
      return device.context;
    },
  };
  onTestFinished(async ({ task }) => {
    if (task.result?.state === 'fail') await dump(device.context, task.name).catch(() => undefined);
    await device.context.close().catch(() => undefined);
    await rm(profileDir, { recursive: true, force: true }).catch(() => undefined);
  });
  return device;
}

/** The context's first tab. */
export async function firstPage(context: BrowserContext): Promise<Page> {
  return context.pages()[0] ?? (await context.newPage());
}
