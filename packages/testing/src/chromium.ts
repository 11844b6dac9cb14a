import { existsSync } from 'node:fs';

/**
 * The Chromium the browser suites drive: `CHROMIUM_PATH`, else Debian's.
 * Fails with what to do when there is none (no browser is ever downloaded).
 *
 * @example
 * ```ts
 * const context = await chromium.launchPersistentContext(dir, {
 *   executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS,
 * });
 * ```
 */
export function chromiumPath(): string {
  const path = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `No Chromium at ${path}: the browser tests need one. Install Debian's (\`apt-get install -y chromium\`, or run scripts/ensure-chromium.sh as root), or set CHROMIUM_PATH to a Chromium executable.`,
    );
  }
  return path;
}

/**
 * Launch flags that work on our machines: no sandbox (root), no GPU, and no
 * background networking (the closed network refuses it, noisily).
 */
export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);
