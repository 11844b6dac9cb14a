import type { AnySyncConfig } from '@carburetor/core';
import { QueryClient } from '@tanstack/react-query';
import {
  type Context,
  createContext,
  type JSX,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useState,
} from 'react';
import type { AnyClient } from './client-helper.ts';
import { CarburetorReactError } from './errors.ts';
import { LiveCache } from './live-cache.ts';
import type { CarburetorProviderProps } from './types.ts';

/** What the provider hands its hooks: one per (client, query client). */
export interface Binding {
  /** The client, once there is one. */
  readonly client: AnyClient | undefined;
  /** The client, or the promise of it; undefined for `client={null}`. */
  readonly ready: Promise<AnyClient> | undefined;
  readonly queryClient: QueryClient;
  /** Second segment of the query keys: one cache per client. */
  readonly scope: string;
  /** The live queries the mounted hooks show. */
  readonly lives: LiveCache;
}

/** One context per `createCarburetorHooks(config)`, so two configs' providers never mix. */
export type BindingContext = Context<Binding | null>;

/** Makes the context of one config's provider and hooks. */
export function createBindingContext(): BindingContext {
  return createContext<Binding | null>(null);
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

/** `<CarburetorProvider>` of one config: hands the client and the cache to the hooks below. */
export function BindingProvider({
  context,
  client,
  queryClient,
  children,
}: CarburetorProviderProps<AnySyncConfig> & { context: BindingContext }): JSX.Element {
  const [ownQueryClient] = useState(() => new QueryClient());
  const cache = queryClient ?? ownQueryClient;
  const resolved = useResolvedClient(client);
  const binding = useMemo<Binding>(
    () => ({
      client: resolved,
      ready: client === null ? undefined : Promise.resolve(client),
      queryClient: cache,
      scope: resolved ? scopeOf(resolved) : 'pending',
      lives: new LiveCache(cache),
    }),
    [resolved, client, cache],
  );
  return <context.Provider value={binding}>{children}</context.Provider>;
}

/** The provider's binding, or the error that says to add one. */
export function useBinding(context: BindingContext, hook: string): Binding {
  const binding = useContext(context);
  if (!binding) {
    throw new CarburetorReactError(
      'missing_provider',
      `${hook}() was called outside <CarburetorProvider>: wrap your app in <CarburetorProvider client={...}> (the one returned by the same createCarburetorHooks(config) call as ${hook}).`,
    );
  }
  return binding;
}
