import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // The workspace's sync config is TypeScript source.
  transpilePackages: ['@{{name}}/sync-config'],
  // `next dev` serves its scripts to localhost only; 127.0.0.1 is the same machine.
  allowedDevOrigins: ['127.0.0.1'],
};

export default nextConfig;
