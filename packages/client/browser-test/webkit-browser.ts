// WebKitGTK for the browser suite: MiniBrowser driven by WebKitWebDriver
// (under Xvfb) through selenium-webdriver. One WebDriver session is one
// browser with its own ephemeral storage; its windows are the tabs.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  startWebKitDriver,
  type WebKitDriverServer,
  webkitCapabilities,
} from '@carburetor/testing/webkit';
import { Builder, type WebDriver } from 'selenium-webdriver';
import { onTestFinished } from 'vitest';
import { resultsDir } from './site.ts';

export { startWebKitDriver, type WebKitDriverServer };

/** A window of a {@link WebKitBrowser}, by its WebDriver handle. */
export type WebKitTab = string;

/**
 * A WebKitGTK browser for the running test, quit when the test ends (after
 * a failed test left each tab's screenshot in test-results/browser/).
 * Scripts run in one tab at a time: WebDriver has one current window.
 */
export class WebKitBrowser {
  readonly #driver: WebDriver;
  readonly #tabs = new Map<WebKitTab, string>();

  private constructor(driver: WebDriver) {
    this.#driver = driver;
  }

  static async launch(server: WebKitDriverServer): Promise<WebKitBrowser> {
    const driver = await new Builder()
      .usingServer(server.url)
      .withCapabilities(webkitCapabilities())
      .build();
    const browser = new WebKitBrowser(driver);
    onTestFinished(async ({ task }) => {
      if (task.result?.state === 'fail') await browser.#dump().catch(() => undefined);
      await driver.quit().catch(() => undefined);
    });
    return browser;
  }

  /** Opens `url` in the first window, or (`newTab`) in a new one, and waits for the test page. */
  async open(url: string, label: string, options: { newTab?: boolean } = {}): Promise<WebKitTab> {
    if (options.newTab) await this.#driver.switchTo().newWindow('tab');
    const tab = await this.#driver.getWindowHandle();
    this.#tabs.set(tab, label);
    await this.#driver.get(url);
    await this.waitFor(tab, () => document.getElementById('status')?.textContent === 'ready');
    return tab;
  }

  /**
   * Runs `fn` in `tab` and answers its (awaited) result. `fn` is sent as
   * source: it sees the page's globals, not the test's variables; pass
   * those as `arg` (JSON-like values).
   */
  async run<R, A = undefined>(
    tab: WebKitTab,
    fn: (arg: A) => R | Promise<R>,
    arg?: A,
  ): Promise<Awaited<R>> {
    await this.#driver.switchTo().window(tab);
    // The result goes through JSON so undefined members and -0 look as they do in Chromium tests.
    const json = (await this.#driver.executeScript(
      `return Promise.resolve((${fn.toString()})(arguments[0])).then((r) => JSON.stringify(r === undefined ? null : r));`,
      arg ?? null,
    )) as string;
    return JSON.parse(json) as Awaited<R>;
  }

  /** Polls `fn` in `tab` until it answers something truthy. */
  async waitFor<A = undefined>(
    tab: WebKitTab,
    fn: (arg: A) => unknown,
    arg?: A,
    timeoutMs = 15_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.run(tab, fn, arg).catch(() => false);
      if (value) return;
      if (Date.now() > deadline) {
        throw new Error(
          `WebKit: still false after ${timeoutMs} ms in ${this.#tabs.get(tab)}: ${fn}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Reloads `tab` and waits for the test page. */
  async reload(tab: WebKitTab): Promise<void> {
    await this.#driver.switchTo().window(tab);
    await this.#driver.navigate().refresh();
    await this.waitFor(tab, () => document.getElementById('status')?.textContent === 'ready');
  }

  /** Closes `tab`, as a user closing it would: its page goes, with its locks. */
  async close(tab: WebKitTab): Promise<void> {
    await this.#driver.switchTo().window(tab);
    await this.#driver.close();
    this.#tabs.delete(tab);
    const [next] = this.#tabs.keys();
    if (next) await this.#driver.switchTo().window(next);
  }

  async #dump(): Promise<void> {
    await mkdir(resultsDir, { recursive: true });
    for (const [tab, label] of this.#tabs) {
      await this.#driver.switchTo().window(tab);
      const png = await this.#driver.takeScreenshot();
      await writeFile(
        join(resultsDir, `webkit-${label.replace(/[^\w.-]+/g, '-')}.png`),
        png,
        'base64',
      );
    }
  }
}
