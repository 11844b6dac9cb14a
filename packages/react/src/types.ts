import type {
  ActiveQuery,
  ClientTableKey,
  ClientWritableKey,
  SyncClientBase,
  SyncStatus,
} from '@carburetor/client';
import type {
  AnySyncConfig,
  ClientDatabase,
  GroupName,
  InferInsert,
  InferNames,
  InferRow,
  InferUpdate,
  TableKey,
} from '@carburetor/core';
import type {
  QueryClient,
  UseMutationOptions,
  UseMutationResult,
  UseQueryResult,
} from '@tanstack/react-query';
import type { CompiledQuery, Kysely } from 'kysely';
import type { JSX, ReactNode } from 'react';
import type { SyncProgress } from './use-sync-progress.ts';

/**
 * A sync client of config `C`, whatever its groups: what `<CarburetorProvider>`
 * takes. Any `SyncClient<typeof config, ...>` from `createSyncClient` fits.
 *
 * @example
 * ```ts
 * const client: CarburetorClient<typeof config> = await createSyncClient(config, options);
 * ```
 */
export type CarburetorClient<C extends AnySyncConfig> = SyncClientBase<C, GroupName<C>>;

/**
 * A query the hooks can run: a kysely builder (`selectFrom`, `activePhoneBooks()`
 * refined, with joins, subqueries, ...) that compiles, for its cache key and
 * the tables it reads, and executes. Build it inside the hook's callback;
 * never call `execute()` yourself.
 *
 * @example
 * ```ts
 * useLocalQuery((db) => db.selectFrom('phone_books').select(['id', 'name'])); // a LocalQuery
 * ```
 */
export interface LocalQuery {
  compile(): CompiledQuery;
  execute(): Promise<unknown>;
}

/**
 * What a {@link LocalQuery} resolves to: `execute()`'s result, rows as kysely types them.
 *
 * @example
 * ```ts
 * type Names = LocalQueryResult<ReturnType<typeof namesQuery>>; // { name: string }[]
 * ```
 */
export type LocalQueryResult<Q extends LocalQuery> = Awaited<ReturnType<Q['execute']>>;

/**
 * Props of `<CarburetorProvider>`.
 *
 * @example
 * ```tsx
 * const clientPromise = typeof window === 'undefined' ? null : createSyncClient(config, options);
 * <CarburetorProvider client={clientPromise} queryClient={queryClient}>{app}</CarburetorProvider>
 * ```
 */
export interface CarburetorProviderProps<C extends AnySyncConfig> {
  /**
   * The sync client, or a promise of it (`createSyncClient(...)` unawaited),
   * or `null` while there is none (on the server, before sign-in). Until it
   * resolves, queries report `status: 'pending'` and mutations wait for it.
   * Keep the same object across renders (create it at module level or in
   * `useState`): a new client starts a new cache.
   */
  client: CarburetorClient<C> | Promise<CarburetorClient<C>> | null;
  /**
   * The TanStack `QueryClient` the hooks keep their cache in (pass your app's
   * to see them in the devtools and share its cache). Without one, the
   * provider makes its own. Either way the provider does not render a
   * `QueryClientProvider`: the hooks hand the client to TanStack directly, so
   * the app's own `useQuery` calls keep theirs.
   */
  queryClient?: QueryClient;
  children?: ReactNode;
}

/**
 * Options of `useLocalQuery`.
 *
 * @example
 * ```ts
 * useLocalQuery((db) => sqlOnlyQuery(db), { tables: ['phone_book'], enabled: signedIn });
 * ```
 */
export interface LocalQueryOptions<C extends AnySyncConfig> {
  /**
   * The table keys whose changes refresh the query (it is then re-run on
   * each, never patched). Default: the tables the query reads, as
   * `client.live` finds them (every table, when it names none of the
   * config's tables).
   */
  tables?: readonly TableKey<C>[];
  /** `false` keeps the query idle (status `'pending'`) until it turns `true`. */
  enabled?: boolean;
}

/**
 * `useLocalQuery(db => query, options?)`: any kysely query on `client.db`,
 * kept current by `client.live` (patched or re-run when a table it reads changes).
 *
 * @example
 * ```ts
 * const { data } = useLocalQuery((db) =>
 *   db.selectFrom('phone_books as p')
 *     .innerJoin('notes as n', 'n.body', 'p.id')
 *     .select(['p.name', 'n.tags']),
 * ); // data: { name: string; tags: string[] }[] | undefined
 * ```
 */
export type UseLocalQuery<C extends AnySyncConfig> = <Q extends LocalQuery>(
  build: (db: Kysely<ClientDatabase<C>>) => Q,
  options?: LocalQueryOptions<C>,
) => UseQueryResult<LocalQueryResult<Q>, Error>;

/**
 * `useActivePhoneBooks(refine?)`: the table's rows that are not deleted;
 * `refine` narrows, orders or re-selects the kysely query, and the result
 * type follows it.
 *
 * @example
 * ```ts
 * const all = useActivePhoneBooks(); // every column
 * const some = useActivePhoneBooks((q) =>
 *   q.where('name', 'like', '%a%').orderBy('name').clearSelect().select(['id', 'name']),
 * ); // data: { id: string; name: string }[] | undefined
 * ```
 */
export type UseActive<C extends AnySyncConfig, K extends TableKey<C>> = <
  Q extends LocalQuery = ActiveQuery<C, K>,
>(
  refine?: (query: ActiveQuery<C, K>) => Q,
) => UseQueryResult<LocalQueryResult<Q>, Error>;

/**
 * TanStack mutation options a write hook passes through (all but `mutationFn`).
 *
 * @example
 * ```ts
 * useInsertPhoneBook({ onError: (e) => toast(e.message) });
 * ```
 */
export type WriteOptions<TData, TVariables> = Omit<
  UseMutationOptions<TData, Error, TVariables>,
  'mutationFn'
>;

/**
 * What `useUpdatePhoneBook().mutate` takes: the id and only the columns to change.
 *
 * @example
 * ```ts
 * update.mutate({ id: contact.id, changes: { note: null } });
 * ```
 */
export interface UpdateVariables<C extends AnySyncConfig, K extends TableKey<C>> {
  id: string;
  changes: InferUpdate<C, K>;
}

/**
 * `useInsertPhoneBook()`: `mutate(row)`; `mutateAsync` resolves to the stored
 * row once the write committed and the live lists that read the table show it.
 *
 * @example
 * ```ts
 * const insert = useInsertPhoneBook();
 * insert.mutate({ owner_id: me, name: 'Ada', phone_number: '1' });
 * ```
 */
export type UseInsert<C extends AnySyncConfig, K extends TableKey<C>> = (
  options?: WriteOptions<InferRow<C, K>, InferInsert<C, K>>,
) => UseMutationResult<InferRow<C, K>, Error, InferInsert<C, K>>;

/**
 * `useUpdatePhoneBook()`: `mutate({ id, changes })`; resolves to the stored row.
 *
 * @example
 * ```ts
 * const update = useUpdatePhoneBook();
 * update.mutate({ id, changes: { name: 'Bea' } });
 * ```
 */
export type UseUpdate<C extends AnySyncConfig, K extends TableKey<C>> = (
  options?: WriteOptions<InferRow<C, K>, UpdateVariables<C, K>>,
) => UseMutationResult<InferRow<C, K>, Error, UpdateVariables<C, K>>;

/**
 * `useDeletePhoneBook()`: `mutate(id)` (deletion is permanent).
 *
 * @example
 * ```ts
 * const remove = useDeletePhoneBook();
 * remove.mutate(contact.id);
 * ```
 */
export type UseDelete = (
  options?: WriteOptions<void, string>,
) => UseMutationResult<void, Error, string>;

/**
 * `useActive<Plural>` for every table of the config's groups.
 *
 * @example
 * ```ts
 * type H = ActiveHooks<typeof config, 'phone_book'>; // { useActivePhoneBooks: UseActive<...> }
 * ```
 */
export type ActiveHooks<C extends AnySyncConfig, K extends TableKey<C>> = {
  [P in K as InferNames<C, P>['useActive']]: UseActive<C, P>;
};

/**
 * `useInsert<Table>`, `useUpdate<Table>`, `useDelete<Table>` for every table
 * writable in at least one group of the config.
 *
 * @example
 * ```ts
 * type H = WriteHooks<typeof config, 'note'>; // useInsertNote, useUpdateNote, useDeleteNote
 * ```
 */
export type WriteHooks<C extends AnySyncConfig, K extends TableKey<C>> = {
  [P in K as InferNames<C, P>['useInsert']]: UseInsert<C, P>;
} & {
  [P in K as InferNames<C, P>['useUpdate']]: UseUpdate<C, P>;
} & {
  [P in K as InferNames<C, P>['useDelete']]: UseDelete;
};

/**
 * Everything `createCarburetorHooks(config)` returns.
 *
 * @example
 * ```ts
 * export const hooks: CarburetorHooks<typeof config> = createCarburetorHooks(config);
 * ```
 */
export type CarburetorHooks<C extends AnySyncConfig> = {
  /** Provides the client to the hooks below it. */
  CarburetorProvider: (props: CarburetorProviderProps<C>) => JSX.Element;
  /** Any kysely query on the replica, refreshed when the tables it reads change. */
  useLocalQuery: UseLocalQuery<C>;
  /** The client's sync status; `NOT_STARTED_STATUS` until there is a client (and on the server). */
  useSyncStatus: () => SyncStatus;
  /**
   * Whether the first sync is done (`hasSynced`) and how far the first
   * downloads under way have come (`done` of `expected`, `fraction`, per
   * table in `tables`); `fraction` is null when none is under way.
   */
  useSyncProgress: () => SyncProgress;
} & ActiveHooks<C, ClientTableKey<C, GroupName<C>>> &
  WriteHooks<C, ClientWritableKey<C, GroupName<C>>>;
