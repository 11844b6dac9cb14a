import { parseArgs } from 'node:util';
import { CreateAppError } from './errors.ts';

/** Where the generated app keeps its data: embedded PGlite, or PostgreSQL at DATABASE_URL. */
export type Database = 'pglite' | 'pg';
export const DATABASES: readonly Database[] = ['pglite', 'pg'];

/** The command line as given: anything left out is asked for, or defaulted with `--yes`. */
export interface CliOptions {
  readonly directory: string | undefined;
  readonly database: Database | undefined;
  readonly example: boolean | undefined;
  readonly install: boolean;
  readonly yes: boolean;
  readonly help: boolean;
  readonly version: boolean;
}

/** Everything the scaffold needs, decided. */
export interface AppOptions {
  /** The folder to create, as given (relative to the current folder). */
  readonly directory: string;
  readonly database: Database;
  /** With the example todo table, its page and its Chromium test. */
  readonly example: boolean;
  /** Run `pnpm install` in the new app. */
  readonly install: boolean;
}

export const USAGE = `Usage: pnpm create carburetor-app <folder> [options]

Scaffolds a Carburetor app in <folder>: a pnpm + turborepo monorepo with a
Next.js app (apps/web), its shared sync config (packages/sync-config) and tests.

Options:
  --database pglite|pg   pglite (default): embedded PostgreSQL, no setup;
                         pg: PostgreSQL at DATABASE_URL
  --example, --no-example
                         with (default) or without the example todo table and page
  --no-install           write the files only; run pnpm install yourself
  -y, --yes              no questions: defaults for every option not given
  -h, --help             this text
  -v, --version          the version (the @carburetor/* packages it installs)

Without --yes, in a terminal, it asks for what is not given.`;

/** Reads the command line; an unknown flag or a bad value throws `bad_option`. */
export function parseCli(argv: readonly string[]): CliOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new CreateAppError(
      'bad_option',
      `${(error as Error).message}\nSee \`pnpm create carburetor-app --help\`.`,
      { cause: error },
    );
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new CreateAppError(
      'bad_option',
      `Give one folder, not ${positionals.length} (${positionals.join(', ')}).`,
    );
  }
  const database = values.database;
  if (database !== undefined && !DATABASES.includes(database as Database)) {
    throw new CreateAppError(
      'bad_option',
      `--database ${database} is not supported: use --database pglite (embedded, the default) or --database pg (PostgreSQL at DATABASE_URL).`,
    );
  }
  return {
    directory: positionals[0],
    database: database as Database | undefined,
    example: values.example,
    install: values.install ?? true,
    yes: values.yes ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    allowNegative: true,
    strict: true,
    options: {
      database: { type: 'string' },
      example: { type: 'boolean' },
      install: { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}
