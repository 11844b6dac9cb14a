import { NOT_STARTED_STATUS, type SyncStatus } from '@carburetor/client';
import type { AnySyncConfig, ResolvedGroup, ResolvedTable } from '@carburetor/core';
import { QueryClient, type QueryKey, useMutation, useQuery } from '@tanstack/react-query';
import {
  type Context,
  createContext,
  type JSX,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useState,
  useSyncExternalStore,
} from 'react';
import { CarburetorReactError } from './errors.ts';
import { ANY_TABLE, keyParameters, tablesOfQuery } from './query-tables.ts';
import type {
  CarburetorClient,
  CarburetorHooks,
  CarburetorProviderProps,
  LocalQuery,
  WriteOptions,
} from './types.ts';

/** First segment of every query key the hooks make. */
const KEY = 'carburetor';

type AnyClient = CarburetorClient<AnySyncConfig>;
type Helper = (...args: unknown[]) => Promise<unknown>;

/** What the provider hands its hooks: one per (client, query client). */
interface Binding {
  /** The client, once there is one. */
  readonly client: AnyClient | undefined;
  /** The client, or the promise of it; undefined for `client={null}`. */
  readonly ready: Promise<AnyClient> | undefined;
  readonly queryClient: QueryClient;
  /** Second segment of the query keys: one cache per client. */
  readonly scope: string;
  /** The refetch started by the latest change event; writes resolve after it. */
  refreshing: Promise<unknown>;
}

const scopes = new WeakMap<object, string>();
let nextScope = 0;
function scopeOf(client: object): string {
  let scope = scopes.get(client);
  if (scope === undefined) {
    scope = `client-${++nextScope}`;
    scopes.set(client, scope);
  }
  return scope;
}

type Settled = { ok: true; client: AnyClient } | { ok: false; error: unknown };
const settledPromises = new WeakMap<Promise<AnyClient>, Settled>();

function isPromise(value: unknown): value is Promise<AnyClient> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The client, once a promised one resolved (awaited in an effect: never on the server). */
function useResolvedClient(input: AnyClient | Promise<AnyClient> | null): AnyClient | undefined {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const promise = isPromise(input) ? input : undefined;
  useEffect(() => {
    if (!promise || settledPromises.has(promise)) return;
    let live = true;
    promise.then(
      (client) => {
        settledPromises.set(promise, { ok: true, client });
        if (live) rerender();
      },
      (error: unknown) => {
        settledPromises.set(promise, { ok: false, error });
        if (live) rerender();
      },
    );
    return () => {
      live = false;
    };
  }, [promise]);
  if (!promise) return input === null ? undefined : (input as AnyClient);
  const settled = settledPromises.get(promise);
  if (!settled) return undefined;
  if (!settled.ok) {
    throw new CarburetorReactError(
      'client_failed',
      `The client promise given to <CarburetorProvider client={...}> rejected: ${String((settled.error as Error | undefined)?.message ?? settled.error)}. Catch it in an error boundary, or give the provider a new promise to retry.`,
      { cause: settled.error },
    );
  }
  return settled.client;
}

/** Marks stale, and refetches if shown, the client's queries that read one of `tables`. */
function invalidate(binding: Binding, tables: readonly string[]): Promise<unknown> {
  const changed = new Set(tables);
  return binding.queryClient.invalidateQueries({
    predicate: ({ queryKey }) =>
      queryKey[0] === KEY &&
      queryKey[1] === binding.scope &&
      Array.isArray(queryKey[2]) &&
      queryKey[2].some((table) => table === ANY_TABLE || changed.has(table as string)),
  });
}

function groupsOf(client: AnyClient): string {
  return client.groups.length > 0 ? client.groups.join(', ') : '(none)';
}

/** The client's generated helper `name`, or the error that says why this client has none. */
function helperOf(
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

/** What one `createCarburetorHooks(config)` call shares between its provider and hooks. */
interface HookKit {
  /** One context per config, so two configs' providers never mix. */
  readonly context: Context<Binding | null>;
  /** SQL table name → table key. */
  readonly keyOfSqlName: ReadonlyMap<string, string>;
}

function BindingProvider({
  kit,
  client,
  queryClient,
  children,
}: CarburetorProviderProps<AnySyncConfig> & { kit: HookKit }): JSX.Element {
  const [ownQueryClient] = useState(() => new QueryClient());
  const cache = queryClient ?? ownQueryClient;
  const resolved = useResolvedClient(client);
  const binding = useMemo<Binding>(
    () => ({
      client: resolved,
      ready: client === null ? undefined : Promise.resolve(client),
      queryClient: cache,
      scope: resolved ? scopeOf(resolved) : 'pending',
      refreshing: Promise.resolve(),
    }),
    [resolved, client, cache],
  );
  useEffect(() => {
    const active = binding.client;
    if (!active) return;
    // Local writes, sync merges, and (on a shared OPFS replica) other tabs' commits.
    return active.onChange((event) => {
      binding.refreshing = invalidate(binding, event.tables);
    });
  }, [binding]);
  return <kit.context.Provider value={binding}>{children}</kit.context.Provider>;
}

function useBinding(kit: HookKit, hook: string): Binding {
  const binding = useContext(kit.context);
  if (!binding) {
    throw new CarburetorReactError(
      'missing_provider',
      `${hook}() was called outside <CarburetorProvider>: wrap your app in <CarburetorProvider client={...}> (the one returned by the same createCarburetorHooks(config) call as ${hook}).`,
    );
  }
  return binding;
}

const noSubscription = () => () => undefined;
const isBrowser = () => true;
const isServer = () => false;

/** Runs `build(client)`'s query through TanStack, keyed by its SQL and the tables it reads. */
function useReplicaQuery(
  kit: HookKit,
  binding: Binding,
  build: ((client: AnyClient) => LocalQuery) | undefined,
  tables: readonly string[] | undefined,
  enabled = true,
) {
  // Server rendering and hydration see no client: queries stay 'pending' and idle.
  const client = useSyncExternalStore(noSubscription, isBrowser, isServer)
    ? binding.client
    : undefined;
  let query: LocalQuery | undefined;
  let queryKey: QueryKey = [KEY, binding.scope, [], 'pending'];
  if (client && build) {
    query = build(client);
    const compiled = query.compile();
    queryKey = [
      KEY,
      binding.scope,
      tables ? [...tables].sort() : tablesOfQuery(compiled, kit.keyOfSqlName),
      compiled.sql,
      keyParameters(compiled.parameters),
    ];
  }
  const run = query;
  return useQuery(
    {
      queryKey,
      queryFn: () => (run as LocalQuery).execute(),
      enabled: run !== undefined && enabled,
      // Fresh until a change event says otherwise; local reads work offline.
      staleTime: Number.POSITIVE_INFINITY,
      networkMode: 'always',
      refetchOnWindowFocus: false,
      refetchOnReconnect: false,
      retry: false,
    },
    binding.queryClient,
  );
}

function useWrite<TData, TVariables>(
  kit: HookKit,
  hook: string,
  table: string,
  name: string,
  call: (helper: Helper, variables: TVariables) => Promise<TData>,
  options: WriteOptions<TData, TVariables> | undefined,
) {
  const binding = useBinding(kit, hook);
  if (binding.client) helperOf(binding.client, hook, table, name, true);
  return useMutation<TData, Error, TVariables>(
    {
      networkMode: 'always',
      retry: false,
      ...options,
      mutationFn: async (variables) => {
        if (!binding.ready) {
          throw new CarburetorReactError(
            'no_client',
            `${hook}(): there is no sync client yet (<CarburetorProvider client={null}>); give the provider a client before writing.`,
          );
        }
        const client = binding.client ?? (await binding.ready);
        const result = await call(helperOf(client, hook, table, name, true), variables);
        // This write's change event started a refetch: resolve once it is in the cache.
        await binding.refreshing;
        return result;
      },
    },
    binding.queryClient,
  );
}

function useSyncStatusOf(kit: HookKit): SyncStatus {
  const { client } = useBinding(kit, 'useSyncStatus');
  const subscribe = useCallback(
    (onChange: () => void) => (client ? client.subscribe(onChange) : () => undefined),
    [client],
  );
  const snapshot = useCallback(() => client?.status ?? NOT_STARTED_STATUS, [client]);
  return useSyncExternalStore(subscribe, snapshot, notStarted);
}

/**
 * Generates the React hooks of a sync config: `<CarburetorProvider>`,
 * `useActive<Plural>`, `useInsert<Table>`, `useUpdate<Table>`,
 * `useDelete<Table>`, `useLocalQuery` and `useSyncStatus`, all running on
 * TanStack Query and refreshed by the client's change events (no polling).
 * Call it once, at module level, and export what it returns.
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
  const kit: HookKit = {
    context: createContext<Binding | null>(null),
    keyOfSqlName: new Map(
      (Object.values(config.tables) as ResolvedTable[]).map((t) => [t.sqlName, t.key]),
    ),
  };

  // biome-ignore lint/correctness/noComponentHookFactories: made once per config, at module level, with the hooks that read its context
  function CarburetorProvider(props: CarburetorProviderProps<C>): JSX.Element {
    return <BindingProvider {...(props as CarburetorProviderProps<AnySyncConfig>)} kit={kit} />;
  }

  const hooks: Record<string, unknown> = {
    CarburetorProvider,
    useLocalQuery: (
      build: (db: AnyClient['db']) => LocalQuery,
      options?: { tables?: readonly string[]; enabled?: boolean },
    ) =>
      useReplicaQuery(
        kit,
        useBinding(kit, 'useLocalQuery'),
        (client) => build(client.db),
        options?.tables,
        options?.enabled,
      ),
    useSyncStatus: () => useSyncStatusOf(kit),
  };

  const seen = new Set<string>();
  for (const group of Object.values(config.groups) as ResolvedGroup[]) {
    for (const { table, readOnly } of group.tables) {
      const { names, key } = table;
      if (!seen.has(key)) {
        seen.add(key);
        hooks[names.useActive] = (refine?: (query: LocalQuery) => LocalQuery) => {
          const binding = useBinding(kit, names.useActive);
          const active = binding.client
            ? helperOf(binding.client, names.useActive, key, names.active, false)
            : undefined;
          return useReplicaQuery(
            kit,
            binding,
            active
              ? () => {
                  const query = active() as unknown as LocalQuery;
                  return refine ? refine(query) : query;
                }
              : undefined,
            undefined,
          );
        };
      }
      if (!readOnly && hooks[names.useInsert] === undefined) {
        hooks[names.useInsert] = (options?: WriteOptions<unknown, unknown>) =>
          useWrite(kit, names.useInsert, key, names.insert, (insert, row) => insert(row), options);
        hooks[names.useUpdate] = (
          options?: WriteOptions<unknown, { id: string; changes: unknown }>,
        ) =>
          useWrite(
            kit,
            names.useUpdate,
            key,
            names.update,
            (update, { id, changes }) => update(id, changes),
            options,
          );
        hooks[names.useDelete] = (options?: WriteOptions<unknown, string>) =>
          useWrite(kit, names.useDelete, key, names.delete, (remove, id) => remove(id), options);
      }
    }
  }
  return hooks as CarburetorHooks<C>;
}

function notStarted(): SyncStatus {
  return NOT_STARTED_STATUS;
}
