import type { AnySyncConfig, ResolvedGroup } from '@carburetor/core';
import type { JSX } from 'react';
import { BindingProvider, createBindingContext } from './carburetor-provider.tsx';
import type { AnyClient } from './client-helper.ts';
import type {
  CarburetorHooks,
  CarburetorProviderProps,
  LocalQuery,
  LocalQueryOptions,
  WriteOptions,
} from './types.ts';
import { useActive } from './use-active.ts';
import { useLocalQuery } from './use-local-query.ts';
import { useSyncProgress } from './use-sync-progress.ts';
import { useSyncStatus } from './use-sync-status.ts';
import { useWrite } from './use-write.ts';

/**
 * Generates the React hooks of a sync config: `<CarburetorProvider>`,
 * `useActive<Plural>`, `useInsert<Table>`, `useUpdate<Table>`,
 * `useDelete<Table>`, `useLocalQuery`, `useSyncStatus` and `useSyncProgress`. Reads are the
 * client's live queries (`client.live`) seen through TanStack Query; writes
 * are TanStack mutations over the client's write helpers. Call it once, at
 * module level, and export what it returns.
 *
 * @example
 * ```tsx
 * export const { CarburetorProvider, useActivePhoneBooks, useInsertPhoneBook, useSyncStatus } =
 *   createCarburetorHooks(config);
 *
 * const client = createSyncClient(config, { driver, url: '/api/trpc', path: 'sync', groups });
 * root.render(
 *   <CarburetorProvider client={client}>
 *     <Contacts />
 *   </CarburetorProvider>,
 * );
 *
 * function Contacts() {
 *   const { data = [] } = useActivePhoneBooks((q) => q.orderBy('name'));
 *   const insert = useInsertPhoneBook();
 *   return (
 *     <>
 *       <button onClick={() => insert.mutate({ owner_id: me, name: 'Ada', phone_number: '1' })}>Add</button>
 *       <ul>{data.map((c) => <li key={c.id}>{c.name}</li>)}</ul>
 *     </>
 *   );
 * }
 * ```
 */
export function createCarburetorHooks<C extends AnySyncConfig>(config: C): CarburetorHooks<C> {
  const context = createBindingContext();

  // biome-ignore lint/correctness/noComponentHookFactories: made once per config, at module level, with the hooks that read its context
  function CarburetorProvider(props: CarburetorProviderProps<C>): JSX.Element {
    return (
      <BindingProvider {...(props as CarburetorProviderProps<AnySyncConfig>)} context={context} />
    );
  }

  const hooks: Record<string, unknown> = {
    CarburetorProvider,
    useLocalQuery: (
      build: (db: AnyClient['db']) => LocalQuery,
      options?: LocalQueryOptions<AnySyncConfig>,
    ) => useLocalQuery(context, build, options),
    useSyncStatus: () => useSyncStatus(context),
    useSyncProgress: () => useSyncProgress(context),
  };

  for (const group of Object.values(config.groups) as ResolvedGroup[]) {
    for (const { table, readOnly } of group.tables) {
      const { names, key } = table;
      hooks[names.useActive] ??= (refine?: (query: LocalQuery) => LocalQuery) =>
        useActive(context, { hook: names.useActive, key, helper: names.active }, refine);
      if (readOnly || hooks[names.useInsert] !== undefined) continue;
      hooks[names.useInsert] = (options?: WriteOptions<unknown, unknown>) =>
        useWrite(
          context,
          { hook: names.useInsert, key, helper: names.insert },
          (insert, row) => insert(row) as Promise<unknown>,
          options,
        );
      hooks[names.useUpdate] = (
        options?: WriteOptions<unknown, { id: string; changes: unknown }>,
      ) =>
        useWrite(
          context,
          { hook: names.useUpdate, key, helper: names.update },
          (update, { id, changes }) => update(id, changes) as Promise<unknown>,
          options,
        );
      hooks[names.useDelete] = (options?: WriteOptions<unknown, string>) =>
        useWrite(
          context,
          { hook: names.useDelete, key, helper: names.delete },
          (remove, id) => remove(id) as Promise<unknown>,
          options,
        );
    }
  }
  return hooks as CarburetorHooks<C>;
}
