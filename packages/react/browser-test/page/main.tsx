// The test page: one Carburetor client on the OPFS driver, the generated
// hooks rendering the phone book, and `window.app` for Playwright.
// ?db=<name> picks the replica;
// `app.mountPlain()` adds a plain-React list, the benchmark's baseline.
import { createSyncClient } from '@carburetor/client';
import { opfsDriver } from '@carburetor/client/browser';
import { memo, useLayoutEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { config, ME } from '../../src/__tests__/config.ts';
import { createCarburetorHooks } from '../../src/index.ts';
import type { PageApp } from './page-app.ts';

const {
  CarburetorProvider,
  useActivePhoneBooks,
  useInsertPhoneBook,
  useDeletePhoneBook,
  useSyncStatus,
} = createCarburetorHooks(config);

const params = new URLSearchParams(location.search);
const dbName = params.get('db') ?? 'react-test';
const status = document.getElementById('status')!;

const driver = opfsDriver({ name: dbName });
const clientPromise = createSyncClient(config, {
  driver,
  url: 'http://127.0.0.1:9/trpc', // never synced: these tests are about local changes
  groups: ['private_contacts'],
});
clientPromise.catch((error: unknown) => {
  status.textContent = `error: ${String(error)}`;
});

interface Row {
  id: string;
  name: string;
}

/** Resolves when a list commits with `length` rows. */
const waiters: { list: string; length: number; resolve: () => void }[] = [];
const lists = { carburetor: 0, plain: 0 };
const renders = { carburetor: 0, plain: 0 };
function committed(list: 'carburetor' | 'plain', length: number) {
  lists[list] = length;
  for (const waiter of [...waiters]) {
    if (waiter.list === list && waiter.length === length) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}
function untilCommitted(list: 'carburetor' | 'plain', length: number): Promise<void> {
  if (lists[list] === length) return Promise.resolve();
  return new Promise((resolve) => waiters.push({ list, length, resolve }));
}

const Item = memo(function Item({ row }: { row: Row }) {
  return <li data-id={row.id}>{row.name}</li>;
});

let writes: {
  insert: (name: string) => Promise<Row>;
  remove: (id: string) => Promise<void>;
} | null = null;

/** The write hooks, in their own component (as an app's form would be): their states do not re-render the list. */
function Writer() {
  const insert = useInsertPhoneBook();
  const remove = useDeletePhoneBook();
  writes = {
    insert: (name) => insert.mutateAsync({ owner_id: ME, name, phone_number: '1' }),
    remove: (id) => remove.mutateAsync(id),
  };
  return null;
}

function CarburetorList() {
  renders.carburetor++;
  const { data } = useActivePhoneBooks((q) => q.clearSelect().select(['id', 'name']));
  useLayoutEffect(() => {
    if (data) committed('carburetor', data.length);
  }, [data]);
  useLayoutEffect(() => {
    if (data && status.textContent === 'loading') status.textContent = 'ready';
  }, [data]);
  return (
    <ul id="list">
      {data?.map((row) => (
        <Item key={row.id} row={row} />
      ))}
    </ul>
  );
}

function Status() {
  const { pendingCount } = useSyncStatus();
  return <p id="pending">{pendingCount}</p>;
}

let setPlainRows: ((update: (rows: Row[]) => Row[]) => void) | null = null;

/** The baseline: the same list from plain React state. */
function PlainList({ initial }: { initial: Row[] }) {
  renders.plain++;
  const [rows, setRows] = useState(initial);
  const ref = useRef(setRows);
  setPlainRows = ref.current;
  useLayoutEffect(() => committed('plain', rows.length), [rows]);
  return (
    <ul id="plain">
      {rows.map((row) => (
        <Item key={row.id} row={row} />
      ))}
    </ul>
  );
}

let plainInitial: Row[] | null = null;
const root = createRoot(document.getElementById('root')!);
function renderApp() {
  root.render(
    <CarburetorProvider client={clientPromise}>
      <Status />
      <Writer />
      <CarburetorList />
      {plainInitial ? <PlainList initial={plainInitial} /> : null}
    </CarburetorProvider>,
  );
}
renderApp();

let nextPlain = 0;
const app: PageApp = {
  storage: () => driver.storage,
  names: () => [...document.querySelectorAll('#list li')].map((li) => li.textContent ?? ''),
  renders: () => ({ ...renders }),
  pending: () => Number(document.getElementById('pending')?.textContent),
  insert: (name: string) => writes!.insert(name).then((row) => row.id),
  remove: (id: string) => writes!.remove(id),
  /** Inserts `n` rows in one transaction (one change event). */
  seed: async (n: number) => {
    const client = await clientPromise;
    await client.transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        await tx.insertPhoneBook({ owner_id: ME, name: `seed ${i}`, phone_number: String(i) });
      }
    });
    await untilCommitted('carburetor', lists.carburetor + n);
  },
  /** Mounts the plain list with the rows the Carburetor list shows. */
  mountPlain: async () => {
    const client = await clientPromise;
    plainInitial = await client.db
      .selectFrom('phone_books')
      .select(['id', 'name'])
      .where('record_deleted', '=', false)
      .execute();
    renderApp();
    await untilCommitted('plain', plainInitial.length);
  },
  /** ms from a hook insert to the commit of the list that shows it. */
  timeCarburetorInsert: async () => {
    const target = lists.carburetor + 1;
    const start = performance.now();
    const done = untilCommitted('carburetor', target);
    void writes!.insert(`bench ${start}`);
    await done;
    return performance.now() - start;
  },
  /** ms from a plain setState append to the commit of the list that shows it. */
  timePlainInsert: async () => {
    const target = lists.plain + 1;
    const start = performance.now();
    const done = untilCommitted('plain', target);
    const id = `plain-${nextPlain++}`;
    setPlainRows!((rows) => [...rows, { id, name: `plain ${start}` }]);
    await done;
    return performance.now() - start;
  },
  /** ms of the list's query alone (worker round trip and decoding), for the benchmark's notes. */
  timeQuery: async () => {
    const client = await clientPromise;
    const start = performance.now();
    await client.activePhoneBooks().clearSelect().select(['id', 'name']).execute();
    return performance.now() - start;
  },
  /** ms of one local insert alone (the worker's transaction). */
  timeWrite: async () => {
    const client = await clientPromise;
    const start = performance.now();
    await client.insertNote({ owner_id: ME, body: 'timing' });
    return performance.now() - start;
  },
};
globalThis.app = app;
