import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // docs/guide.md, bundler notes: PGlite on the server under `next build --webpack`.
  serverExternalPackages: ['@electric-sql/pglite'],
};

export default nextConfig;
