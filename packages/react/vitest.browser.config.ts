import { defineConfig } from 'vitest/config';
import { sourceResolve } from '../../vitest.shared.ts';

/**
 * The browser suite: Node-side vitest tests that build a React test page with
 * Vite and drive Debian's Chromium through playwright-core. Run with
 * `vitest run --config vitest.browser.config.ts`.
 */
export default defineConfig({
  ...sourceResolve,
  test: {
    include: ['browser-test/**/*.test.ts'],
    reporters: ['default', ['json', { outputFile: 'test-results/vitest-browser.json' }]],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One Chromium at a time: two cores here.
    fileParallelism: false,
  },
});
