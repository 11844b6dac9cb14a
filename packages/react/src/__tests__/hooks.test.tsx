// @vitest-environment happy-dom
import { CarburetorClientError } from '@carburetor/client';
import { QueryClient } from '@tanstack/react-query';
import { act, cleanup, render, renderHook, screen, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, test } from 'vitest';
import { CarburetorReactError } from '../errors.ts';
import { createCarburetorHooks, NOT_STARTED_STATUS } from '../index.ts';
import { config, type LocalClient, localClient, ME } from './fixtures.ts';

const {
  CarburetorProvider,
  useActivePhoneBooks,
  useActiveNotes,
  useInsertPhoneBook,
  useUpdatePhoneBook,
  useDeletePhoneBook,
  useInsertNote,
  useLocalQuery,
  useSyncStatus,
} = createCarburetorHooks(config);

const clients: LocalClient[] = [];
async function open(groups?: ('private_contacts' | 'directory')[]) {
  const client = await localClient(groups);
  clients.push(client);
  return client;
}

afterEach(async () => {
  cleanup();
  for (const client of clients.splice(0)) await client.close();
});

function wrapper(client: LocalClient | Promise<LocalClient>, queryClient?: QueryClient) {
  return ({ children }: { children: ReactNode }) => (
    <CarburetorProvider client={client} {...(queryClient ? { queryClient } : {})}>
      {children}
    </CarburetorProvider>
  );
}

const contact = (name: string, extra: { published?: boolean } = {}) => ({
  owner_id: ME,
  name,
  phone_number: '1',
  ...extra,
});

/** Every list that shows phone_book, and the writes, in one tree. */
function PhoneBookScreen({ onReady }: { onReady: (api: Api) => void }) {
  const all = useActivePhoneBooks();
  const withA = useActivePhoneBooks((q) =>
    q.where('name', 'like', '%a%').orderBy('name').clearSelect().select(['name']),
  );
  const count = useLocalQuery((db) =>
    db
      .selectFrom('phone_books')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('record_deleted', '=', false),
  );
  const insert = useInsertPhoneBook();
  const update = useUpdatePhoneBook();
  const remove = useDeletePhoneBook();
  onReady({ insert, update, remove });
  return (
    <>
      <ul data-testid="all">
        {(all.data ?? []).map((row) => (
          <li key={row.id}>{row.name}</li>
        ))}
      </ul>
      <p data-testid="with-a">{withA.data?.map((row) => row.name).join(',') ?? 'loading'}</p>
      <p data-testid="count">{count.data?.[0]?.n ?? 'loading'}</p>
    </>
  );
}
interface Api {
  insert: ReturnType<typeof useInsertPhoneBook>;
  update: ReturnType<typeof useUpdatePhoneBook>;
  remove: ReturnType<typeof useDeletePhoneBook>;
}

function renderScreen(client: LocalClient | Promise<LocalClient>, queryClient?: QueryClient) {
  let api: Api | undefined;
  const Wrapper = wrapper(client, queryClient);
  render(
    <Wrapper>
      <PhoneBookScreen
        onReady={(a) => {
          api = a;
        }}
      />
    </Wrapper>,
  );
  return () => api as Api;
}

const text = (id: string) => screen.getByTestId(id).textContent;
const names = () =>
  [...screen.getByTestId('all').querySelectorAll('li')].map((li) => li.textContent);

describe('useActive<Plural> and the write hooks', () => {
  test('a mutation updates every list that shows the table', async () => {
    const client = await open();
    await client.insertPhoneBook(contact('Zed'));
    const queryClient = new QueryClient();
    const api = renderScreen(client, queryClient);
    await waitFor(() => expect(text('count')).toBe('1'));
    await waitFor(() => expect(names()).toEqual(['Zed']));
    expect(text('with-a')).toBe('');
    /** Every cached list, as the hooks will render it next. */
    const cached = () =>
      queryClient
        .getQueryCache()
        .getAll()
        .map((q) => JSON.stringify(q.state.data))
        .sort();

    let row: Awaited<ReturnType<Api['insert']['mutateAsync']>> | undefined;
    await act(async () => {
      row = await api().insert.mutateAsync(contact('Ada'));
      // mutateAsync resolves once the lists were refetched (TanStack renders them a tick later).
      expect(cached().some((data) => data.includes('"n":2'))).toBe(true);
    });
    expect(row?.name).toBe('Ada');
    await waitFor(() => expect(text('count')).toBe('2'));
    expect(names().sort()).toEqual(['Ada', 'Zed']);
    expect(text('with-a')).toBe('Ada');

    await act(async () => {
      await api().update.mutateAsync({ id: row!.id, changes: { name: 'Bea' } });
    });
    await waitFor(() => expect(text('with-a')).toBe('Bea'));
    expect(names().sort()).toEqual(['Bea', 'Zed']);

    await act(async () => {
      await api().remove.mutateAsync(row!.id);
    });
    await waitFor(() => expect(text('count')).toBe('1'));
    expect(names()).toEqual(['Zed']);
    expect(text('with-a')).toBe('');
  });

  test('a write made on the client directly (not through a hook) refreshes the lists too', async () => {
    const client = await open();
    renderScreen(client);
    await waitFor(() => expect(text('count')).toBe('0'));
    await act(async () => {
      await client.transaction(async (tx) => {
        await tx.insertPhoneBook(contact('Ann'));
        await tx.insertPhoneBook(contact('Bob'));
      });
    });
    await waitFor(() => expect(text('count')).toBe('2'));
    expect(names().sort()).toEqual(['Ann', 'Bob']);
    expect(text('with-a')).toBe('Ann');
  });

  test('mutations report isPending, then the error of a refused write', async () => {
    const client = await open();
    // The client arrives late, so the write is seen in flight.
    let resolve: (c: LocalClient) => void = () => undefined;
    const later = new Promise<LocalClient>((r) => {
      resolve = r;
    });
    const { result } = renderHook(() => useUpdatePhoneBook(), { wrapper: wrapper(later) });
    expect(result.current.isPending).toBe(false);
    act(() => result.current.mutate({ id: 'no-such-id', changes: { name: 'x' } }));
    await waitFor(() => expect(result.current.isPending).toBe(true));
    await act(async () => resolve(client));
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.isPending).toBe(false);
    expect(result.current.error).toBeInstanceOf(CarburetorClientError);
    expect((result.current.error as CarburetorClientError).code).toBe('unknown_row');

    const insert = renderHook(() => useInsertPhoneBook(), { wrapper: wrapper(client) });
    await act(async () => {
      await insert.result.current
        .mutateAsync({ ...contact('x'), phone_number: 5 as never })
        .catch(() => undefined);
    });
    await waitFor(() =>
      expect((insert.result.current.error as CarburetorClientError | null)?.code).toBe(
        'invalid_value',
      ),
    );
  });

  test('a write passes TanStack options through (onSuccess)', async () => {
    const client = await open();
    const seen: string[] = [];
    const { result } = renderHook(
      () => useInsertNote({ onSuccess: (row) => void seen.push(row.body) }),
      { wrapper: wrapper(client) },
    );
    await act(async () => {
      await result.current.mutateAsync({ owner_id: ME, body: 'hello' });
    });
    expect(seen).toEqual(['hello']);
  });

  test('a change to another table does not refetch the list', async () => {
    const client = await open();
    await client.insertNote({ owner_id: ME, body: 'one' });
    let runs = 0;
    const { result } = renderHook(
      () =>
        useActiveNotes((q) => ({
          compile: () => q.compile(),
          execute: () => {
            runs++;
            return q.execute();
          },
        })),
      { wrapper: wrapper(client) },
    );
    await waitFor(() => expect(result.current.data).toHaveLength(1));
    expect(runs).toBe(1);
    await act(async () => {
      await client.insertPhoneBook(contact('Ada'));
    });
    expect(runs).toBe(1);
    await act(async () => {
      await client.insertNote({ owner_id: ME, body: 'two' });
    });
    await waitFor(() => expect(result.current.data).toHaveLength(2));
    expect(runs).toBe(2);
    expect(result.current.data?.map((n) => n.tags)).toEqual([[], []]);
  });

  test('a client given as a promise: pending until it resolves, then the rows', async () => {
    const client = await open();
    await client.insertPhoneBook(contact('Ada'));
    let resolve: (c: LocalClient) => void = () => undefined;
    const promise = new Promise<LocalClient>((r) => {
      resolve = r;
    });
    const { result } = renderHook(() => useActivePhoneBooks(), { wrapper: wrapper(promise) });
    expect(result.current.status).toBe('pending');
    await new Promise((r) => setTimeout(r, 20));
    expect(result.current.status).toBe('pending');
    await act(async () => resolve(client));
    await waitFor(() => expect(result.current.status).toBe('success'));
    expect(result.current.data?.map((r) => r.name)).toEqual(['Ada']);
  });

  test('a write made while the client promise is pending waits for it', async () => {
    const client = await open();
    let resolve: (c: LocalClient) => void = () => undefined;
    const promise = new Promise<LocalClient>((r) => {
      resolve = r;
    });
    const { result } = renderHook(() => useInsertPhoneBook(), { wrapper: wrapper(promise) });
    let done: Promise<unknown> = Promise.resolve();
    act(() => {
      done = result.current.mutateAsync(contact('Early'));
    });
    await act(async () => resolve(client));
    await act(async () => {
      await done;
    });
    expect((await client.activePhoneBooks().execute()).map((r) => r.name)).toEqual(['Early']);
  });

  test("the app's own QueryClient holds the cache when given", async () => {
    const client = await open();
    const queryClient = new QueryClient();
    const { result } = renderHook(() => useActivePhoneBooks(), {
      wrapper: wrapper(client, queryClient),
    });
    await waitFor(() => expect(result.current.status).toBe('success'));
    const keys = queryClient
      .getQueryCache()
      .getAll()
      .map((q) => q.queryKey);
    expect(keys).toHaveLength(1);
    expect(keys[0]?.[0]).toBe('carburetor');
    expect(keys[0]?.[2]).toEqual(['phone_book']);
  });
});

describe('useLocalQuery', () => {
  test('finds the tables of joins and subqueries and refreshes on each', async () => {
    const client = await open();
    const ada = await client.insertPhoneBook(contact('Ada'));
    const { result } = renderHook(
      () =>
        useLocalQuery((db) =>
          db
            .selectFrom('phone_books as p')
            .leftJoin('notes as n', 'n.body', 'p.id')
            .select(['p.name', 'n.body'])
            .where('p.record_deleted', '=', false)
            .orderBy('p.name'),
        ),
      { wrapper: wrapper(client) },
    );
    await waitFor(() => expect(result.current.data).toEqual([{ name: 'Ada', body: null }]));
    await act(async () => {
      await client.insertNote({ owner_id: ME, body: ada.id });
    });
    await waitFor(() => expect(result.current.data).toEqual([{ name: 'Ada', body: ada.id }]));
    await act(async () => {
      await client.updatePhoneBook(ada.id, { name: 'Adele' });
    });
    await waitFor(() => expect(result.current.data?.[0]?.name).toBe('Adele'));

    const sub = renderHook(
      () =>
        useLocalQuery((db) =>
          db
            .selectFrom('notes')
            .select('body')
            .where('body', 'in', db.selectFrom('phone_books').select('id')),
        ),
      { wrapper: wrapper(client) },
    );
    await waitFor(() => expect(sub.result.current.data).toEqual([{ body: ada.id }]));
    await act(async () => {
      await client.deletePhoneBook(ada.id); // soft delete: still in phone_books
      await client.insertPhoneBook({ ...contact('Cy'), id: 'cy' });
      await client.insertNote({ owner_id: ME, body: 'cy' });
    });
    await waitFor(() => expect(sub.result.current.data).toHaveLength(2));
  });

  test('`tables` overrides what is found; `enabled: false` keeps it idle', async () => {
    const client = await open();
    let runs = 0;
    const { result, rerender } = renderHook(
      ({ enabled }: { enabled: boolean }) =>
        useLocalQuery(
          (db) => {
            const q = db.selectFrom('notes').selectAll();
            return {
              compile: () => q.compile(),
              execute: () => {
                runs++;
                return q.execute();
              },
            };
          },
          { tables: ['phone_book'], enabled },
        ),
      { wrapper: wrapper(client), initialProps: { enabled: false } },
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(result.current.status).toBe('pending');
    expect(result.current.fetchStatus).toBe('idle');
    expect(runs).toBe(0);
    rerender({ enabled: true });
    await waitFor(() => expect(result.current.status).toBe('success'));
    await act(async () => {
      await client.insertNote({ owner_id: ME, body: 'ignored: notes is not watched' });
    });
    expect(runs).toBe(1);
    await act(async () => {
      await client.insertPhoneBook(contact('Ada'));
    });
    await waitFor(() => expect(runs).toBe(2));
    expect(result.current.data).toHaveLength(1);
  });
});

describe('errors that say what to do', () => {
  test('a hook outside the provider', () => {
    const quiet = console.error;
    console.error = () => undefined;
    try {
      expect(() => renderHook(() => useActivePhoneBooks())).toThrow(
        /useActivePhoneBooks\(\) was called outside <CarburetorProvider>: wrap your app in <CarburetorProvider client=\{\.\.\.\}>/,
      );
      expect(() =>
        renderHook(() => useLocalQuery((db) => db.selectFrom('notes').selectAll())),
      ).toThrow(CarburetorReactError);
    } finally {
      console.error = quiet;
    }
  });

  test("a table outside the client's groups, and a table read-only in all of them", async () => {
    const client = await open(['directory']);
    const quiet = console.error;
    console.error = () => undefined;
    try {
      expect(() => renderHook(() => useActiveNotes(), { wrapper: wrapper(client) })).toThrow(
        'useActiveNotes(): table "note" is in none of this client\'s sync groups (directory). Add a group that holds it to createSyncClient({ groups }), or use a client that syncs it.',
      );
      expect(() => renderHook(() => useInsertPhoneBook(), { wrapper: wrapper(client) })).toThrow(
        /useInsertPhoneBook\(\): table "phone_book" is not writable in any of this client's sync groups \(directory\)/,
      );
    } finally {
      console.error = quiet;
    }
    // Reading the read-only table is fine.
    const { result } = renderHook(() => useActivePhoneBooks(), { wrapper: wrapper(client) });
    await waitFor(() => expect(result.current.data).toEqual([]));
  });

  test('a rejected client promise reaches the error boundary with code client_failed', async () => {
    const failed = Promise.reject(new Error('OPFS is unavailable'));
    failed.catch(() => undefined);
    const quiet = console.error;
    console.error = () => undefined;
    const errors: unknown[] = [];
    try {
      const { ErrorBoundary } = await import('./error-boundary.tsx');
      render(
        <ErrorBoundary onError={(e) => errors.push(e)}>
          <CarburetorProvider client={failed as never}>
            <p>app</p>
          </CarburetorProvider>
        </ErrorBoundary>,
      );
      await waitFor(() => expect(errors).toHaveLength(1));
    } finally {
      console.error = quiet;
    }
    expect(errors[0]).toBeInstanceOf(CarburetorReactError);
    expect((errors[0] as CarburetorReactError).code).toBe('client_failed');
    expect((errors[0] as Error).message).toMatch(/rejected: OPFS is unavailable/);
  });
});

function HydratedApp() {
  const { data, status } = useActivePhoneBooks();
  const sync = useSyncStatus();
  return (
    <p id="hydrated">
      {status}:{data?.map((r) => r.name).join(',')}:
      {sync === NOT_STARTED_STATUS ? 'not-started' : 'live'}
    </p>
  );
}

describe('hydration', () => {
  test('server HTML hydrates without a mismatch, then the rows arrive', async () => {
    const client = await open();
    await client.insertPhoneBook(contact('Ada'));
    const tree = (
      <CarburetorProvider client={client}>
        <HydratedApp />
      </CarburetorProvider>
    );
    const container = document.createElement('div');
    container.innerHTML = renderToString(tree);
    expect(container.textContent).toBe('pending::not-started');
    document.body.append(container);
    const problems: unknown[] = [];
    const root = await act(async () =>
      hydrateRoot(container, tree, {
        onRecoverableError: (error) => void problems.push(error),
      }),
    );
    try {
      await waitFor(() => expect(container.textContent).toBe('success:Ada:live'));
      expect(problems).toEqual([]);
    } finally {
      act(() => root.unmount());
      container.remove();
    }
  });
});
