import { defineConfig } from 'vitest/config';

// The tests drive the built app (`next start`, started once by the global
// setup) in Chromium: `pnpm test` builds first.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['./tests/global-setup.ts'],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
