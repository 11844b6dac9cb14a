import type { AnySyncConfig } from '@carburetor/core';
import { CarburetorReactError } from './errors.ts';
import type { CarburetorClient } from './types.ts';

/** A client of any config, as the hooks hold it. */
export type AnyClient = CarburetorClient<AnySyncConfig>;

/** A generated client helper (`insertPhoneBook`, `activePhoneBooks`, ...), untyped. */
export type Helper = (...args: unknown[]) => unknown;

function groupsOf(client: AnyClient): string {
  return client.groups.length > 0 ? client.groups.join(', ') : '(none)';
}

/**
 * The client's generated helper `name`, or the error that says why this
 * client has none: the hooks come from the config, the groups from the client.
 */
export function helperOf(
  client: AnyClient,
  hook: string,
  table: string,
  name: string,
  write: boolean,
): Helper {
  const helper = (client as unknown as Record<string, unknown>)[name];
  if (typeof helper === 'function') return helper as Helper;
  throw write
    ? new CarburetorReactError(
        'table_not_writable',
        `${hook}(): table "${table}" is not writable in any of this client's sync groups (${groupsOf(client)}). Add a group where it is writable to createSyncClient({ groups }), or do not write it from this app.`,
      )
    : new CarburetorReactError(
        'table_not_synced',
        `${hook}(): table "${table}" is in none of this client's sync groups (${groupsOf(client)}). Add a group that holds it to createSyncClient({ groups }), or use a client that syncs it.`,
      );
}
