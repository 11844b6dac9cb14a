import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The API (server/main.ts) serves the router at its root; the app calls /api/trpc.
const proxy = {
  '/api/trpc': {
    target: `http://127.0.0.1:${process.env.API_PORT ?? 3000}`,
    rewrite: (path: string) => path.replace(/^\/api\/trpc/, ''),
  },
};

// https://vite.dev/config/
export default defineConfig({
  plugins: [react()],
  // docs/guide.md, bundler notes: pre-bundling would separate wa-sqlite from its .wasm.
  optimizeDeps: { exclude: ['@journeyapps/wa-sqlite'] },
  server: { proxy },
  preview: { proxy },
});
