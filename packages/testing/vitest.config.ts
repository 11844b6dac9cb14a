import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig({ globalSetup: ['./src/global-setup.ts'], testTimeout: 30_000 });
