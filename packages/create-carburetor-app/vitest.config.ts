import { packageTestConfig } from '../../vitest.shared.ts';

// Unit tests of the CLI: options, prompts, refusals and the scaffolded files.
// The generated app itself is installed, built and tested by e2e/src/create-app.test.ts.
export default packageTestConfig({ testTimeout: 20_000 });
