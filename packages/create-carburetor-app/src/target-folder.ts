import { readdir, stat } from 'node:fs/promises';
import { CreateAppError } from './errors.ts';

/**
 * Refuses a target that exists and is not an empty folder: the scaffold
 * never mixes its files with someone else's.
 */
export async function checkTargetFolder(path: string, shown: string): Promise<void> {
  const found = await stat(path).catch(() => undefined);
  if (!found) return;
  if (!found.isDirectory()) {
    throw new CreateAppError(
      'folder_not_empty',
      `${shown} exists and is a file: choose another folder name. Nothing was written.`,
    );
  }
  const entries = await readdir(path);
  if (entries.length > 0) {
    throw new CreateAppError(
      'folder_not_empty',
      `${shown} exists and is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}): choose a new folder name, or empty it first. Nothing was written.`,
    );
  }
}
