import { packageTestConfig } from '../../vitest.shared.ts';

// Each test file picks its environment (`@vitest-environment happy-dom` for
// the React tests); the sync suite starts one real PostgreSQL per run.
export default packageTestConfig({
  globalSetup: ['@carburetor/testing/global-setup'],
  testTimeout: 30_000,
});
