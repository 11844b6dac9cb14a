import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // PGlite ships its own WebAssembly and data files: load it from node_modules, unbundled.
  serverExternalPackages: ['@electric-sql/pglite'],
  // `next dev` serves its scripts to localhost only; 127.0.0.1 is the same machine.
  allowedDevOrigins: ['127.0.0.1'],
  // Tests build into their own folder so a developer's `next dev` is never disturbed.
  distDir: process.env['NEXT_DIST_DIR'] ?? '.next',
  // The e2e suite type-checks with `tsc` itself and skips it here to build faster.
  typescript: { ignoreBuildErrors: process.env['NEXT_SKIP_TYPECHECK'] === '1' },
};

export default nextConfig;
