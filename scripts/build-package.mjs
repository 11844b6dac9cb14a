// Builds the package in the current folder to dist/: ESM JavaScript, declaration
// files and source maps, by `tsc -p tsconfig.build.json`.
//
// tsc rewrites the `.ts` of relative imports (rewriteRelativeImportExtensions) but
// not of asset URLs: `new Worker(new URL('./worker.ts', import.meta.url))` must name
// the real `.ts` file in the source (what Vite and Next resolve there) and the `.js`
// file in dist (what an app's bundler finds in node_modules). This script does that
// one rewrite after tsc, so the source stays what both bundlers need.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const dist = join(process.cwd(), 'dist');
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
} catch {
  process.exit(1); // tsc printed why
}

const assetUrl = /new URL\((['"])(\.{1,2}\/[^'"]+)\.ts\1, import\.meta\.url\)/g;
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.js')) {
      const code = readFileSync(path, 'utf8');
      const rewritten = code.replace(assetUrl, 'new URL($1$2.js$1, import.meta.url)');
      if (rewritten !== code) writeFileSync(path, rewritten);
    }
  }
};
walk(dist);
