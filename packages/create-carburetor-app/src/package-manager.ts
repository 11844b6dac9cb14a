import { CreateAppError } from './errors.ts';

/** The package manager that started us, from `npm_config_user_agent` (`pnpm/12.4.2 npm/? node/v22...`). */
export function packageManagerOf(userAgent: string | undefined): string | undefined {
  return userAgent?.split('/')[0]?.trim() || undefined;
}

/**
 * The generated app is a pnpm workspace (pnpm-workspace.yaml, `workspace:`
 * dependencies, `allowBuilds`): npm, yarn and bun are refused before anything
 * is written, with the pnpm command to run instead. Run directly (`node
 * dist/cli.js`, no user agent) it goes ahead.
 */
export function requirePnpm(userAgent: string | undefined): void {
  const manager = packageManagerOf(userAgent);
  if (manager === undefined || manager === 'pnpm') return;
  throw new CreateAppError(
    'wrong_package_manager',
    `create-carburetor-app makes a pnpm + turborepo workspace and runs only under pnpm, not ${manager}. Run:\n\n  pnpm create carburetor-app my-app\n\n(no pnpm yet? \`npm install -g pnpm\`, or \`corepack enable pnpm\`). Nothing was written.`,
  );
}
