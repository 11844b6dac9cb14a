import { spawn } from 'node:child_process';
import { relative, resolve } from 'node:path';
import { appNameOf } from './app-name.ts';
import { CreateAppError } from './errors.ts';
import { type AppOptions, type CliOptions, parseCli, USAGE } from './options.ts';
import { requirePnpm } from './package-manager.ts';
import { ask, type PromptIO } from './prompts.ts';
import { scaffold } from './scaffold.ts';
import { checkTargetFolder } from './target-folder.ts';
import { ownVersion } from './versions.ts';

/** What the CLI runs against: the process's, or a test's. */
export interface MainIO extends PromptIO {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Whether a person is there to answer (stdin is a terminal). */
  readonly interactive: boolean;
  readonly log: (line: string) => void;
}

/**
 * `pnpm create carburetor-app [folder] [options]`: checks everything first
 * (package manager, options, name, folder), then writes the app and runs
 * `pnpm install` in it. Throws `CreateAppError` for what the user can fix.
 */
export async function main(argv: readonly string[], io: MainIO): Promise<void> {
  const cli = parseCli(argv);
  if (cli.help) return io.log(USAGE);
  if (cli.version) return io.log(ownVersion());
  requirePnpm(io.env['npm_config_user_agent']);

  const options = await decide(cli, io);
  const target = resolve(io.cwd, options.directory);
  const shown = relative(io.cwd, target) || '.';
  const name = appNameOf(target);
  await checkTargetFolder(target, shown);

  const files = await scaffold({
    target,
    name,
    database: options.database,
    example: options.example,
    carburetorVersion: ownVersion(),
  });
  io.log(
    `Created ${name} in ${shown} (${files.length} files; ${options.database === 'pglite' ? 'embedded PGlite' : 'PostgreSQL at DATABASE_URL'}, ${options.example ? 'with' : 'without'} the example).`,
  );

  if (options.install) {
    io.log('Installing with pnpm install...');
    await install(target, io.env, shown);
  }
  const start = options.database === 'pglite' ? 'pnpm dev' : 'DATABASE_URL=postgres://... pnpm dev';
  io.log(
    `\nNext:\n  cd ${shown}${options.install ? '' : '\n  pnpm install'}\n  ${start}      # http://localhost:3000\n  pnpm test     # its tests, a Chromium one included\n\nSee ${shown}/README.md.`,
  );
}

/** Fills in what the command line left out: asked in a terminal, defaults otherwise. */
async function decide(cli: CliOptions, io: MainIO): Promise<AppOptions> {
  const askable = io.interactive && !cli.yes;
  const answers = askable
    ? await ask(
        {
          directory: cli.directory === undefined,
          database: cli.database === undefined,
          example: cli.example === undefined,
        },
        io,
      )
    : {};
  const directory = cli.directory ?? answers.directory;
  if (!directory) {
    throw new CreateAppError(
      'missing_name',
      'Name the folder for the new app: pnpm create carburetor-app my-app (see --help).',
    );
  }
  return {
    directory,
    database: cli.database ?? answers.database ?? 'pglite',
    example: cli.example ?? answers.example ?? true,
    install: cli.install,
  };
}

function install(dir: string, env: NodeJS.ProcessEnv, shown: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn('pnpm', ['install'], { cwd: dir, env, stdio: 'inherit' });
    const failed = (why: string) =>
      fail(
        new CreateAppError(
          'install_failed',
          `pnpm install in ${shown} ${why}. The app's files are in place: fix the cause above, then run pnpm install there.`,
        ),
      );
    child.on('error', (error) => failed(`could not start (${error.message})`));
    child.on('exit', (code, signal) =>
      code === 0 ? done() : failed(`failed (${signal ?? `exit ${code}`})`),
    );
  });
}
