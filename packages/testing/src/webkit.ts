import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** Debian's WebKitGTK WebDriver (package webkit2gtk-driver). */
const DRIVER = '/usr/bin/WebKitWebDriver';
/** The browser it drives: WebKitGTK's MiniBrowser (package libwebkit2gtk-4.1-0). */
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

const HOW_TO_FIX =
  "Install Debian's (`apt-get install -y webkit2gtk-driver xvfb`, or run scripts/ensure-webkit.sh as root)";

/**
 * The WebKit the browser suites drive: Debian's MiniBrowser, through
 * Debian's WebKitWebDriver under `xvfb-run`. Fails with what to do when a
 * piece is missing (no browser is ever downloaded).
 */
export function webkitPaths(): { readonly driver: string; readonly browser: string } {
  const browser = MINIBROWSER;
  for (const [what, path] of [
    ['WebKitWebDriver', DRIVER],
    ['MiniBrowser', browser],
    ['xvfb-run', '/usr/bin/xvfb-run'],
  ] as const) {
    if (!existsSync(path)) {
      throw new Error(
        `No ${what} at ${path}: the WebKit browser tests need WebKitGTK's WebDriver, its MiniBrowser and Xvfb. ${HOW_TO_FIX}.`,
      );
    }
  }
  return { driver: DRIVER, browser };
}

/**
 * The capabilities of a new WebKitGTK session: MiniBrowser in automation
 * mode. Each session is a fresh, ephemeral browser (its storage is gone when
 * the session ends); windows of one session share storage, like tabs.
 */
export function webkitCapabilities(): Record<string, unknown> {
  return {
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: webkitPaths().browser, args: ['--automation'] },
  };
}

/** A running WebKitWebDriver, on its own Xvfb display. */
export interface WebKitDriverServer {
  /** `http://127.0.0.1:<port>`, for a WebDriver client (`new Builder().usingServer(url)`). */
  readonly url: string;
  /** Ends the driver, its browsers and its Xvfb. */
  stop(): Promise<void>;
}

/**
 * `xvfb-run` arguments for a display of its own: `-a` takes the first free
 * display from `-n`, and a random start keeps two suites starting at the
 * same moment (turbo runs packages in parallel) off the same number.
 */
function xvfbArgs(): string[] {
  return ['-a', '-n', String(100 + Math.floor(Math.random() * 5000))];
}

/** A port of 127.0.0.1 free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts WebKitWebDriver under `xvfb-run` (a display of its own, so no
 * `DISPLAY` is needed) on a free port, and waits until it answers.
 *
 * @example
 * ```ts
 * import { Builder } from 'selenium-webdriver';
 * const server = await startWebKitDriver();
 * const browser = await new Builder().usingServer(server.url).withCapabilities(webkitCapabilities()).build();
 * await browser.get('http://127.0.0.1:3000/');
 * await browser.quit();
 * await server.stop();
 * ```
 */
export async function startWebKitDriver(): Promise<WebKitDriverServer> {
  const { driver } = webkitPaths();
  const port = await freePort();
  // Its own process group, so stop() ends xvfb-run, Xvfb, the driver and its browsers together.
  const child: ChildProcess = spawn('xvfb-run', [...xvfbArgs(), driver, `--port=${port}`], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
    }
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `WebKitWebDriver exited (code ${child.exitCode}) before answering:\n${stderr}`,
      );
    }
    const ready = await fetch(`${url}/status`).then(
      async (response) => ((await response.json()) as { value?: { ready?: boolean } }).value?.ready,
      () => false,
    );
    if (ready) return { url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`WebKitWebDriver did not answer on ${url} within 20 s:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A MiniBrowser started without WebDriver, on a data directory of its own. */
export interface MiniBrowserProcess {
  /** Quits it (SIGTERM to the browser, its web processes and its Xvfb). */
  stop(): Promise<void>;
}

/**
 * Starts MiniBrowser on `url` under `xvfb-run`, without WebDriver, keeping
 * its website data (IndexedDB, OPFS, cookies) in `dataDir`. WebDriver
 * sessions are ephemeral, so this is how a test quits WebKitGTK and starts
 * it again on the same data; the page reports back over HTTP.
 *
 * @example
 * ```ts
 * const first = launchMiniBrowser(`${origin}/?step=write`, dir);
 * await reported; // the page POSTed its result to the test's server
 * await first.stop();
 * const second = launchMiniBrowser(`${origin}/?step=read`, dir);
 * ```
 */
export function launchMiniBrowser(url: string, dataDir: string): MiniBrowserProcess {
  const { browser } = webkitPaths();
  const child = spawn('xvfb-run', [...xvfbArgs(), browser, url], {
    detached: true,
    stdio: 'ignore',
    // WebKitGTK keeps website data under the XDG directories.
    env: {
      ...process.env,
      XDG_DATA_HOME: `${dataDir}/share`,
      XDG_CACHE_HOME: `${dataDir}/cache`,
      XDG_CONFIG_HOME: `${dataDir}/config`,
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    stop: async () => {
      if (child.exitCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
    },
  };
}
