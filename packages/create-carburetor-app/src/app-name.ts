import { basename, resolve } from 'node:path';
import { CreateAppError } from './errors.ts';

const VALID = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * The app's package name: the folder's own name. It also scopes the
 * workspace packages (`@<name>/web`, `@<name>/sync-config`), so it must be a
 * valid npm name and scope.
 */
export function appNameOf(directory: string): string {
  const name = basename(resolve(directory));
  if (!VALID.test(name) || name.length > 214) {
    throw new CreateAppError(
      'bad_name',
      `"${name}" cannot name the app: it becomes its package name and scope (@${name}/web), so use lowercase letters, digits, "-", "." and "_", starting with a letter or digit (e.g. my-app).`,
    );
  }
  return name;
}
