import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The repository root. */
export const repoRoot = resolve(here, '../..');
/** The demo app. */
export const webDir = resolve(repoRoot, 'apps/web');
/** Where the suite builds the app: its own folder, so a developer's `.next` is left alone. */
export const E2E_DIST_DIR = '.next-e2e';
/** Screenshots and consoles of failed tests. */
export const resultsDir = resolve(here, '../test-results');
