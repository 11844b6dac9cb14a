import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** The Chromium the tests drive: CHROMIUM_PATH, else /usr/bin/chromium. Nothing is downloaded. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `No Chromium at ${path}: the browser tests need one. Debian/Ubuntu: \`sudo apt-get install -y chromium\`; elsewhere set CHROMIUM_PATH to a Chromium or Chrome executable (macOS: "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome").`,
    );
  }
  return path;
}

/** One device: a fresh browser profile (its own cookies and OPFS), with its first tab. */
export interface Device {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

export async function openDevice(): Promise<Device> {
  const profile = await mkdtemp(join(tmpdir(), 'app-test-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    // No sandbox (CI runs as root), no GPU, no background traffic.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in on the app's form, as a user does, and waits for the replica to be live. */
export async function signIn(page: Page, origin: string, name: string): Promise<void> {
  await page.goto(origin);
  await page.getByLabel('name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: `Signed in as ${name}` }).waitFor({ timeout: 60_000 });
  await page.getByTestId('sync-status').getByText('live').waitFor({ timeout: 60_000 });
}
