import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * Inside the workspace, `@carburetor/*` resolve to their TypeScript source (the
 * `@carburetor/source` export condition), so tests never wait for a build or
 * run a stale one. Apps outside get the built `dist/`.
 */
export const SOURCE_CONDITION = '@carburetor/source';
export const sourceResolve = {
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
};

/**
 * The vitest settings every package shares: type tests on, and a JSON report
 * in `test-results/` that `.ci/run` sums into its closing line.
 */
export function packageTestConfig(
  overrides: { testTimeout?: number; globalSetup?: string[] } = {},
) {
  return defineConfig({
    ...sourceResolve,
    test: {
      include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
      typecheck: {
        enabled: true,
        include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'],
        tsconfig: './tsconfig.json',
      },
      // TEST_REPORT_SUFFIX keeps a second run's report (CI's Node 24 pass) beside the first.
      reporters: [
        'default',
        [
          'json',
          { outputFile: `test-results/vitest${process.env['TEST_REPORT_SUFFIX'] ?? ''}.json` },
        ],
      ],
      testTimeout: overrides.testTimeout ?? 10_000,
      hookTimeout: 60_000,
      ...(overrides.globalSetup ? { globalSetup: overrides.globalSetup } : {}),
    },
  });
}
