import { defineConfig } from 'vitest/config';

/**
 * The vitest settings every package shares: type tests on, and a JSON report
 * in `test-results/` that `.ci/run` sums into its closing line.
 */
export function packageTestConfig(
  overrides: { testTimeout?: number; globalSetup?: string[] } = {},
) {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
      typecheck: {
        enabled: true,
        include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'],
        tsconfig: './tsconfig.json',
      },
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
      testTimeout: overrides.testTimeout ?? 10_000,
      hookTimeout: 60_000,
      ...(overrides.globalSetup ? { globalSetup: overrides.globalSetup } : {}),
    },
  });
}
