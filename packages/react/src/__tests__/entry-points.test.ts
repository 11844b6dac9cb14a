import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

// The inspector costs an app nothing unless it imports `@carburetor/react/devtools`:
// nothing the main entry point reaches (and so nothing a bundler could keep) is in devtools/.

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function reachable(file: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = await readFile(file, 'utf8');
  for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
    await reachable(join(dirname(file), spec!), seen);
  }
  return seen;
}

test('the main entry point reaches no devtools module; the devtools entry point does', async () => {
  const main = [...(await reachable(join(src, 'index.ts')))].map((f) => f.slice(src.length + 1));
  expect(main.length).toBeGreaterThan(5);
  expect(main.filter((f) => f.startsWith('devtools/'))).toEqual([]);
  const devtools = [...(await reachable(join(src, 'devtools/index.ts')))];
  expect(devtools.some((f) => f.endsWith('carburetor-devtools.tsx'))).toBe(true);
});

test('package.json exports the inspector on its own path', async () => {
  const manifest = JSON.parse(await readFile(join(src, '../package.json'), 'utf8')) as {
    exports: Record<string, { import: string }>;
  };
  expect(manifest.exports['./devtools']?.import).toBe('./dist/devtools/index.js');
});
