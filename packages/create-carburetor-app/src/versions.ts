import { readFileSync } from 'node:fs';

/**
 * This package's version. It moves with @carburetor/* (one changesets `fixed`
 * group), so it is the version of the packages the generated app installs.
 */
export function ownVersion(): string {
  // One level below the package root, from src/ and from dist/ alike.
  const path = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
