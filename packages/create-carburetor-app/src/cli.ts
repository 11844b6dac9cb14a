#!/usr/bin/env node
// The `create-carburetor-app` command (`pnpm create carburetor-app my-app`).
import { CreateAppError } from './errors.ts';
import { main } from './main.ts';

try {
  await main(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    input: process.stdin,
    output: process.stdout,
    interactive: process.stdin.isTTY === true,
    log: (line) => console.log(line),
  });
} catch (error) {
  if (!(error instanceof CreateAppError)) throw error;
  console.error(`create-carburetor-app: ${error.message}`);
  process.exitCode = 1;
}
