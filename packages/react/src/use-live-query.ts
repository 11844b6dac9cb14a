import type { LiveSource } from '@carburetor/client';
import { hashKey, type QueryKey, type UseQueryResult, useQuery } from '@tanstack/react-query';
import { useEffect, useSyncExternalStore } from 'react';
import type { Binding } from './carburetor-provider.tsx';
import type { AnyClient } from './client-helper.ts';
import type { LocalQuery } from './types.ts';

/** First segment of every query key the hooks make. */
const KEY = 'carburetor';
/** The tables segment of a key whose query names none of the config's tables: every change refreshes it. */
const ANY_TABLE = '*';

const noSubscription = () => () => undefined;
const isBrowser = () => true;
const isServer = () => false;

/** Query parameters as JSON-safe values, for TanStack's query key hash. */
function keyParameters(parameters: readonly unknown[]): unknown[] {
  return parameters.map((value) => {
    if (typeof value === 'bigint') return { bigint: value.toString() };
    if (value instanceof Uint8Array) return { bytes: [...value] };
    if (value instanceof Date) return { date: value.toISOString() };
    return value;
  });
}

/**
 * `build(client)`'s query as a TanStack query whose rows come from the
 * client's live query: keyed by the client, the tables it reads, its SQL and
 * parameters; run and kept current by `client.live` while mounted.
 */
export function useLiveQuery(
  binding: Binding,
  build: ((client: AnyClient) => LocalQuery) | undefined,
  tables: readonly string[] | undefined,
  enabled = true,
): UseQueryResult<unknown, Error> {
  // Server rendering and hydration see no client: queries stay 'pending' and idle.
  const client = useSyncExternalStore(noSubscription, isBrowser, isServer)
    ? binding.client
    : undefined;
  let source: LiveSource<unknown> | undefined;
  let queryKey: QueryKey = [KEY, binding.scope, [], 'pending'];
  if (client && build) {
    source = build(client) as LiveSource<unknown>;
    const compiled = source.compile();
    // Not subscribed, so it runs nothing: it says which tables the query reads.
    const read = tables ? [...tables].sort() : client.live(source).tables;
    queryKey = [
      KEY,
      binding.scope,
      read.length > 0 ? read : [ANY_TABLE],
      compiled.sql,
      keyParameters(compiled.parameters),
    ];
  }
  const hash = hashKey(queryKey);
  const active = source !== undefined && enabled;
  const query = source;
  // Before useQuery's own effects, so its first fetch finds the live query open.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the hash stands for queryKey, query and tables
  useEffect(() => {
    if (!active || !client || !query) return;
    return binding.lives.retain(hash, queryKey, () =>
      client.live(query, tables ? { tables } : undefined),
    );
  }, [binding, client, hash, active]);
  return useQuery(
    {
      queryKey,
      queryFn: () => binding.lives.result(hash) ?? (query as LiveSource<unknown>).execute(),
      enabled: active,
      // Fresh until the live query says otherwise; local reads work offline.
      staleTime: Number.POSITIVE_INFINITY,
      networkMode: 'always',
      refetchOnWindowFocus: false,
      refetchOnReconnect: false,
      retry: false,
      // The live query keeps unchanged rows as they were; comparing 10k rows again buys nothing.
      structuralSharing: false,
      // Changes arrive as new data, with no fetch around them: whoever renders the hook hears of them.
      notifyOnChangeProps: 'all',
    },
    binding.queryClient,
  );
}
