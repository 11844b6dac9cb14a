import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { sourceResolve } from '../../../vitest.shared.ts';

/** The test page, built the way an app would build it. */
export default defineConfig({
  ...sourceResolve,
  root: fileURLToPath(new URL('./page', import.meta.url)),
  // Pre-bundling wa-sqlite would separate wa-sqlite.mjs from its .wasm.
  optimizeDeps: { exclude: ['@journeyapps/wa-sqlite'] },
  build: { target: 'es2022', minify: false, emptyOutDir: true, reportCompressedSize: false },
  logLevel: 'warn',
});
