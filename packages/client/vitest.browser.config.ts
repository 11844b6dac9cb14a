import { defineConfig } from 'vitest/config';
import { sourceResolve } from '../../vitest.shared.ts';

/**
 * The browser suite: Node-side vitest tests that build a test page with Vite
 * and drive Debian's Chromium through playwright-core. The sync tests serve
 * the page and a real sync router (PostgreSQL from the global setup) from one
 * origin. Run with `vitest run --config vitest.browser.config.ts`.
 */
export default defineConfig({
  ...sourceResolve,
  test: {
    include: ['browser-test/**/*.test.ts'],
    globalSetup: ['@carburetor/testing/global-setup'],
    reporters: ['default', ['json', { outputFile: 'test-results/vitest-browser.json' }]],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // One Chromium at a time: two cores here, and each test owns its profile.
    fileParallelism: false,
  },
});
