import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { largeConfigSource } from './large-config.ts';
import { type Settled, settle, sideBySide } from './measure.ts';

/**
 * `tsc --noEmit` on a 50-table, 20-column config that uses every generated
 * name, against `tsc` on an empty file with the same settings: the type-level
 * cost of the config DSL.
 */
export async function typecheckConfig(runs = 5): Promise<Settled[]> {
  const dir = fileURLToPath(new URL('../.typecheck/', import.meta.url));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}config.ts`, largeConfigSource(50, 20, '@carburetor/core'));
  writeFileSync(`${dir}empty.ts`, 'export {};\n');
  for (const name of ['config', 'empty']) {
    writeFileSync(
      `${dir}tsconfig.${name}.json`,
      JSON.stringify({ extends: '../../tsconfig.base.json', files: [`${name}.ts`] }),
    );
  }
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const run = (name: string) =>
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', `${dir}tsconfig.${name}.json`], {
      stdio: 'inherit',
    });
  try {
    return await settle('core-typecheck', async () => [
      {
        name: 'tsc --noEmit: 50 tables x 20 columns, every name used, vs an empty file',
        ...(await sideBySide(
          runs,
          () => run('config'),
          () => run('empty'),
        )),
        limit: 3000,
        mode: 'difference',
      },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
