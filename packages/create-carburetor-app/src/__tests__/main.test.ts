import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CreateAppError } from '../errors.ts';
import { type MainIO, main } from '../main.ts';
import { ownVersion } from '../versions.ts';

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'create-carburetor-app-test-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const PNPM = { npm_config_user_agent: 'pnpm/12.4.2 npm/? node/v22.23.5 linux x64' };

function io(options: { answers?: string[]; env?: NodeJS.ProcessEnv } = {}) {
  const input = new PassThrough();
  const output = new PassThrough();
  const printed: string[] = [];
  output.on('data', (chunk: Buffer) => printed.push(chunk.toString()));
  if (options.answers) input.end(options.answers.map((answer) => `${answer}\n`).join(''));
  const value: MainIO = {
    cwd,
    env: options.env ?? PNPM,
    input,
    output,
    interactive: options.answers !== undefined,
    log: (line) => printed.push(`${line}\n`),
  };
  return { io: value, printed };
}

const read = (path: string) => readFile(join(cwd, path), 'utf8');
const json = async (path: string) =>
  JSON.parse(await read(path)) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };

async function failure(run: Promise<unknown>): Promise<CreateAppError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CreateAppError))
    throw new Error(`expected a CreateAppError, got ${String(error)}`);
  return error;
}

describe('create-carburetor-app <folder> --yes --no-install', () => {
  it('writes the PGlite app with the example: the workspace, the web app, the sync config', async () => {
    const { io: given, printed } = io();
    await main(['my-app', '--yes', '--no-install'], given);

    expect(printed.join('')).toContain('Created my-app in my-app');
    const root = JSON.parse(await read('my-app/package.json')) as Record<string, unknown>;
    expect(root['name']).toBe('my-app');
    expect(await read('my-app/.gitignore')).toContain('.pglite/');
    const web = await json('my-app/apps/web/package.json');
    expect(web.dependencies['@my-app/sync-config']).toBe('workspace:*');
    for (const name of ['core', 'server', 'client', 'react']) {
      expect(web.dependencies[`@carburetor/${name}`]).toBe(`^${ownVersion()}`);
    }
    expect(web.dependencies['@electric-sql/pglite']).toBeDefined();
    expect(web.dependencies['pg']).toBeUndefined();
    expect(web.devDependencies['@types/pg']).toBeUndefined();
    expect(await read('my-app/packages/sync-config/src/index.ts')).toContain('todo: table(');
    expect(await read('my-app/apps/web/server/open-database.ts')).toContain('PGlite');
    expect(await read('my-app/apps/web/tests/todos.test.ts')).toContain(
      'bob sees only the shared one',
    );
    expect(await read('my-app/README.md')).toContain('```sh\npnpm dev\n```');
  });

  it('with --database pg --no-example: the PostgreSQL connection, no example, no pglite', async () => {
    await main(['pg-app', '--database', 'pg', '--no-example', '--yes', '--no-install'], io().io);

    const web = await json('pg-app/apps/web/package.json');
    expect(web.dependencies['pg']).toBeDefined();
    expect(web.dependencies['@electric-sql/pglite']).toBeUndefined();
    expect(await read('pg-app/apps/web/server/open-database.ts')).toContain(
      'DATABASE_URL is not set',
    );
    expect(await read('pg-app/apps/web/next.config.ts')).not.toContain('pglite');
    expect(await read('pg-app/packages/sync-config/src/index.ts')).toContain('item: table(');
    expect(await readdir(join(cwd, 'pg-app/apps/web/tests'))).not.toContain('todos.test.ts');
    expect(await read('pg-app/README.md')).toContain('DATABASE_URL=postgres://');
  });

  it('leaves no template placeholder or template-only file name behind', async () => {
    await main(['my-app', '--yes', '--no-install'], io().io);
    const files = await readdir(join(cwd, 'my-app'), { recursive: true });
    expect(files.filter((file) => /_package\.json$|(^|\/)gitignore$/.test(file))).toEqual([]);
    for (const file of files.filter((file) => /\.(ts|tsx|json|md|yaml)$/.test(file))) {
      expect(await read(join('my-app', file)), file).not.toMatch(/\{\{\w+\}\}/);
    }
  });
});

describe('prompts, in a terminal', () => {
  it('asks for the folder, the database and the example; re-asks after a bad answer', async () => {
    const { io: given, printed } = io({ answers: ['asked-app', 'mysql', 'pg', 'n'] });
    await main(['--no-install'], given);
    expect(printed.join('')).toContain('"mysql" is neither pglite nor pg.');
    const web = await json('asked-app/apps/web/package.json');
    expect(web.dependencies['pg']).toBeDefined();
    expect(await read('asked-app/packages/sync-config/src/index.ts')).toContain('item: table(');
  });

  it('takes the defaults on empty answers, and asks only what the flags left out', async () => {
    const { io: given, printed } = io({ answers: [''] });
    await main(['--database', 'pglite', '--example', '--no-install'], given);
    expect(printed.join('')).toContain('Folder for the new app');
    expect(printed.join('')).not.toContain('Database:');
    expect(await read('my-carburetor-app/packages/sync-config/src/index.ts')).toContain('todo');
  });
});

describe('refusals: a clear error, and nothing written', () => {
  it('refuses a folder that is not empty', async () => {
    await mkdir(join(cwd, 'taken'));
    await writeFile(join(cwd, 'taken/notes.txt'), 'mine');
    const error = await failure(main(['taken', '--yes', '--no-install'], io().io));
    expect(error.code).toBe('folder_not_empty');
    expect(error.message).toContain('taken exists and is not empty (notes.txt)');
    expect(await readdir(cwd)).toEqual(['taken']);
    expect(await readdir(join(cwd, 'taken'))).toEqual(['notes.txt']);
  });

  it('fills an empty folder that exists', async () => {
    await mkdir(join(cwd, 'empty'));
    await main(['empty', '--yes', '--no-install'], io().io);
    expect(await readdir(join(cwd, 'empty'))).toContain('turbo.json');
    expect(await readdir(cwd)).toEqual(['empty']);
  });

  it('refuses npm, before writing anything', async () => {
    const error = await failure(
      main(
        ['my-app', '--yes'],
        io({ env: { npm_config_user_agent: 'npm/11.6.0 node/v22.23.5' } }).io,
      ),
    );
    expect(error.code).toBe('wrong_package_manager');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('without a terminal, needs the folder named', async () => {
    const error = await failure(main(['--yes'], io().io));
    expect(error.code).toBe('missing_name');
    expect(error.message).toContain('pnpm create carburetor-app my-app');
    expect(await readdir(cwd)).toEqual([]);
  });

  it('refuses a bad name and a bad flag, before writing anything', async () => {
    expect((await failure(main(['My App', '--yes'], io().io))).code).toBe('bad_name');
    expect((await failure(main(['my-app', '--database=sqlite'], io().io))).code).toBe('bad_option');
    expect(await readdir(cwd)).toEqual([]);
  });
});
