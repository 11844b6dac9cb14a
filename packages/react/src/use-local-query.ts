import type { UseQueryResult } from '@tanstack/react-query';
import { type BindingContext, useBinding } from './carburetor-provider.tsx';
import type { AnyClient } from './client-helper.ts';
import type { LocalQuery } from './types.ts';
import { useLiveQuery } from './use-live-query.ts';

/** `useLocalQuery(db => query, { tables?, enabled? })`: any kysely query on `client.db`, live. */
export function useLocalQuery(
  context: BindingContext,
  build: (db: AnyClient['db']) => LocalQuery,
  options: { tables?: readonly string[]; enabled?: boolean } | undefined,
): UseQueryResult<unknown, Error> {
  return useLiveQuery(
    useBinding(context, 'useLocalQuery'),
    (client) => build(client.db),
    options?.tables,
    options?.enabled,
  );
}
