import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './options.ts';

/** The template folder shipped in the package, one level above src/ and dist/. */
export const TEMPLATE_DIR = fileURLToPath(new URL('../template/', import.meta.url));

/** What one app is made of. */
export interface ScaffoldPlan {
  /** The folder to create (absolute). It must be missing or empty. */
  readonly target: string;
  /** The package name and workspace scope. */
  readonly name: string;
  readonly database: Database;
  readonly example: boolean;
  /** The @carburetor/* version the app depends on (`^version`). */
  readonly carburetorVersion: string;
}

/**
 * The template's layers, later ones replacing earlier files: `base` (the
 * workspace, the app without the example), the database's (its connection
 * and next.config), then `example` (the todo table, page and test).
 */
export function layersOf(plan: Pick<ScaffoldPlan, 'database' | 'example'>): string[] {
  return ['base', plan.database, ...(plan.example ? ['example'] : [])];
}

/** Driver packages the app does not use, by its database. */
const UNUSED_DEPENDENCIES: Record<Database, string[]> = {
  pglite: ['pg', '@types/pg'],
  pg: ['@electric-sql/pglite'],
};

/** What the README says to run for each database. */
const README_TEXT: Record<Database, Record<string, string>> = {
  pglite: {
    devCommand: 'pnpm dev',
    testCommand: 'pnpm test',
    databaseNote:
      'The app stores its data in an embedded PGlite (PostgreSQL in WebAssembly) in `apps/web/.pglite/`, created and migrated on the first start: no database to install.',
  },
  pg: {
    devCommand: 'DATABASE_URL=postgres://user:password@localhost:5432/app pnpm dev',
    testCommand: 'DATABASE_URL=postgres://user:password@localhost:5432/app pnpm test',
    databaseNote:
      'The app stores its data in the PostgreSQL (13 or newer) at `DATABASE_URL`, migrated at every start (idempotent). The tests use the same database.',
  },
};

/**
 * Writes the app into `plan.target`. Files are assembled in a temporary
 * sibling folder and moved into place at the end, so a failure leaves no
 * half-written app. Returns the files written, relative to the target.
 */
export async function scaffold(plan: ScaffoldPlan): Promise<string[]> {
  const files = new Map<string, string>();
  for (const layer of layersOf(plan)) {
    const root = join(TEMPLATE_DIR, layer);
    for (const file of await listFiles(root)) files.set(outputPath(relative(root, file)), file);
  }

  const values: Record<string, string> = {
    name: plan.name,
    carburetorVersion: plan.carburetorVersion,
    ...README_TEXT[plan.database],
  };
  await mkdir(dirname(plan.target), { recursive: true });
  const staging = await mkdtemp(join(dirname(plan.target), '.create-carburetor-app-'));
  try {
    for (const [path, source] of files) {
      let text = fill(await readFile(source, 'utf8'), values);
      if (path === 'apps/web/package.json') text = dropUnused(text, plan.database);
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await writeFile(join(staging, path), text);
    }
    await rm(plan.target, { recursive: true, force: true }); // missing or empty: checked before
    await rename(staging, plan.target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return [...files.keys()].sort();
}

/**
 * The template's names for files a tarball must not hold as such: npm drops
 * `.gitignore`, and a nested `package.json` would read as a package of its own.
 */
export function outputPath(path: string): string {
  return path
    .replace(/(^|\/)gitignore$/, '$1.gitignore')
    .replace(/(^|\/)_package\.json$/, '$1package.json');
}

/** Replaces every `{{key}}`; an unknown key is a bug in the template. */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template: no value for ${whole}`);
    return value;
  });
}

function dropUnused(packageJson: string, database: Database): string {
  const json = JSON.parse(packageJson) as Record<string, Record<string, string> | undefined>;
  for (const name of UNUSED_DEPENDENCIES[database]) {
    delete json['dependencies']?.[name];
    delete json['devDependencies']?.[name];
  }
  return `${JSON.stringify(json, null, 2)}\n`;
}

async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = resolve(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await listFiles(path)));
    else found.push(path);
  }
  return found;
}
