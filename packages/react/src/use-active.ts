import type { UseQueryResult } from '@tanstack/react-query';
import { type BindingContext, useBinding } from './carburetor-provider.tsx';
import { helperOf } from './client-helper.ts';
import type { LocalQuery } from './types.ts';
import { useLiveQuery } from './use-live-query.ts';

/** What `useActive<Plural>` needs to know of its table. */
export interface ActiveTable {
  /** The hook's name, for errors (`useActivePhoneBooks`). */
  readonly hook: string;
  /** The table key (`phone_book`). */
  readonly key: string;
  /** The client's query helper (`activePhoneBooks`). */
  readonly helper: string;
}

/** `useActive<Plural>(refine?)`: the client's `active<Plural>()` query, refined, live. */
export function useActive(
  context: BindingContext,
  table: ActiveTable,
  refine: ((query: LocalQuery) => LocalQuery) | undefined,
): UseQueryResult<unknown, Error> {
  const binding = useBinding(context, table.hook);
  const active = binding.client
    ? helperOf(binding.client, table.hook, table.key, table.helper, false)
    : undefined;
  return useLiveQuery(
    binding,
    active
      ? () => {
          const query = active() as LocalQuery;
          return refine ? refine(query) : query;
        }
      : undefined,
    undefined,
  );
}
