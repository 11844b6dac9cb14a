import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig({
  globalSetup: ['@carburetor/testing/global-setup', '@carburetor/testing/redis-global-setup'],
  testTimeout: 30_000,
});
