// The demo in WebKitGTK: MiniBrowser driven by WebKitWebDriver under Xvfb,
// through selenium-webdriver. A WebDriver session is one "device" (its own
// ephemeral storage); its windows are that device's tabs. WebKitWebDriver
// serves one session at a time, so each device starts its own.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  startWebKitDriver,
  type WebKitDriverServer,
  webkitCapabilities,
} from '@carburetor/testing/webkit';
import { Builder, By, type WebDriver, type WebElement } from 'selenium-webdriver';
import { onTestFinished } from 'vitest';
import { resultsDir } from './paths.ts';

/** A WebKit tab, by its WebDriver window handle. */
export type WebKitTab = string;

/** One WebKit "device": a browser session, quit when the test ends (screenshots of a failed test first). */
export class WebKitDevice {
  readonly driver: WebDriver;
  readonly label: string;

  private constructor(driver: WebDriver, label: string) {
    this.driver = driver;
    this.label = label;
  }

  /** Starts a WebKitWebDriver and a browser session on it. Fails first, saying how to install WebKitGTK, when it is missing. */
  static async launch(label: string): Promise<WebKitDevice> {
    const server: WebKitDriverServer = await startWebKitDriver();
    const driver = await new Builder()
      .usingServer(server.url)
      .withCapabilities(webkitCapabilities())
      .build()
      .catch(async (error: unknown) => {
        await server.stop();
        throw error;
      });
    const device = new WebKitDevice(driver, label);
    onTestFinished(async ({ task }) => {
      if (task.result?.state === 'fail') await device.#dump(task.name).catch(() => undefined);
      await driver.quit().catch(() => undefined);
      await server.stop();
    });
    return device;
  }

  /** The current tab; `newTab` opens another one first. */
  async tab(options: { newTab?: boolean } = {}): Promise<WebKitTab> {
    if (options.newTab) await this.driver.switchTo().newWindow('tab');
    return this.driver.getWindowHandle();
  }

  async switchTo(tab: WebKitTab): Promise<void> {
    await this.driver.switchTo().window(tab);
  }

  /** Runs `script` (a function body; `arguments[0]` is `arg`) in `tab`, promises awaited. */
  async run<R>(tab: WebKitTab, script: string, arg?: unknown): Promise<R> {
    await this.switchTo(tab);
    return (await this.driver.executeScript(script, arg ?? null)) as R;
  }

  /** Waits until `tab` shows an element matching `css`. */
  async waitFor(tab: WebKitTab, css: string, timeoutMs = 30_000): Promise<WebElement> {
    await this.switchTo(tab);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [found] = await this.driver.findElements(By.css(css));
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`WebKit (${this.label}): nothing matched ${css} within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async #dump(testName: string): Promise<void> {
    await mkdir(resultsDir, { recursive: true });
    for (const tab of await this.driver.getAllWindowHandles()) {
      await this.driver.switchTo().window(tab);
      const base = join(
        resultsDir,
        `${testName}-webkit-${this.label}-${tab}`.replace(/[^\w.-]+/g, '-').slice(0, 150),
      );
      const state = await this.driver
        .executeScript(
          'const h = window.__carburetor; return JSON.stringify(h ? { status: h.client.status, isOwner: h.driver.isOwner, storage: h.driver.storage } : null);',
        )
        .catch((e: unknown) => `(unavailable: ${String(e)})`);
      await writeFile(
        `${base}.console.txt`,
        `${await this.driver.getCurrentUrl()}\nsync client: ${String(state)}\n`,
      );
      await writeFile(`${base}.png`, await this.driver.takeScreenshot(), 'base64');
    }
  }
}

/** The demo's "sync badge" when nothing waits to upload and no sync runs. */
export const SYNCED =
  '[data-testid="sync-badge"][data-pending="0"][data-phase="idle"][data-online="true"]';

/** A contact row of the phone book, by name. */
export function contactCss(name: string): string {
  return `[data-testid="contact"][data-name="${name}"]`;
}

/** Signs in by name on the demo's sign-in form, as a user types it, and waits for the first sync. */
export async function signIn(
  device: WebKitDevice,
  tab: WebKitTab,
  origin: string,
  name: string,
): Promise<void> {
  await device.switchTo(tab);
  await device.driver.get(origin);
  const field = await device.waitFor(tab, 'input[name="name"][autocomplete="username"]');
  await field.sendKeys(name);
  await device.driver.findElement(By.css('form button[type="submit"]')).click();
  await device.waitFor(tab, '[data-ready="true"]');
  await device.waitFor(tab, '[data-testid="sync-badge"]:not([data-last-synced=""])');
}

/** Opens the demo in `tab` (signed in already: the session cookie) and waits for the phone book. */
export async function openApp(device: WebKitDevice, tab: WebKitTab, origin: string): Promise<void> {
  await device.switchTo(tab);
  await device.driver.get(origin);
  await device.waitFor(tab, '[data-ready="true"]');
}

/** Adds a contact through the "Add a contact" form, as a user types it, and waits for its row. */
export async function addContact(
  device: WebKitDevice,
  tab: WebKitTab,
  contact: { name: string; phone: string },
): Promise<void> {
  const form = await device.waitFor(tab, 'form[aria-label="Add a contact"]');
  await form.findElement(By.css('input[name="name"]')).sendKeys(contact.name);
  await form.findElement(By.css('input[name="phone_number"]')).sendKeys(contact.phone);
  await form.findElement(By.css('button[type="submit"]')).click();
  await device.waitFor(tab, contactCss(contact.name), 10_000);
}

/** The names `tab` lists, in order. */
export async function shownNames(device: WebKitDevice, tab: WebKitTab): Promise<string[]> {
  await device.switchTo(tab);
  const rows = await device.driver.findElements(By.css('[data-testid="contact"]'));
  return Promise.all(rows.map(async (row) => (await row.getAttribute('data-name')) ?? ''));
}

/** Where the page's replica lives and whether this tab owns it (the demo's `window.__carburetor`). */
export function replicaOf(
  device: WebKitDevice,
  tab: WebKitTab,
): Promise<{ storage: string; isOwner: boolean } | null> {
  return device.run(
    tab,
    'const h = window.__carburetor; return h ? { storage: h.driver.storage, isOwner: h.driver.isOwner } : null;',
  );
}

/** What the sync badge's panel says under "Stored in" (opens the panel, then closes it). */
export async function storedIn(device: WebKitDevice, tab: WebKitTab): Promise<string> {
  const toggle = await device.waitFor(tab, '[data-testid="sync-badge"] .badge-main');
  await toggle.click();
  const panel = await device.waitFor(tab, '.badge-panel');
  const label = await panel
    .findElement(By.xpath(".//dt[normalize-space(.)='Stored in']/following-sibling::dd[1]"))
    .getText();
  await toggle.click();
  return label;
}
