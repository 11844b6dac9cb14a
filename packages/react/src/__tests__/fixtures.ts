import { createSyncClient } from '@carburetor/client';
import { memoryDriver } from '@carburetor/client/node';
import { config } from './config.ts';

export { config, ME } from './config.ts';

/** A URL nobody listens on: local tests never sync. */
export const NOWHERE = 'http://127.0.0.1:9/trpc';

/** A real client on an in-memory wa-sqlite replica that never syncs. */
export function localClient(groups: ('private_contacts' | 'directory')[] = ['private_contacts']) {
  return createSyncClient(config, { driver: memoryDriver(), url: NOWHERE, groups });
}

export type LocalClient = Awaited<ReturnType<typeof localClient>>;
