// @vitest-environment happy-dom
import { OnlineManager, type SyncStatus } from '@carburetor/client';
import { act, cleanup, render, renderHook, screen, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createCarburetorHooks } from '../index.ts';
import { config, ME } from './fixtures.ts';
import { startSyncServer } from './sync-server.ts';

const { CarburetorProvider, useActivePhoneBooks, useLocalQuery, useSyncStatus, useSyncProgress } =
  createCarburetorHooks(config);

let server: Awaited<ReturnType<typeof startSyncServer>>;
beforeAll(async () => {
  server = await startSyncServer('react-sync');
});
afterAll(async () => {
  await server?.stop();
});
afterEach(() => {
  cleanup();
});

type Client = Awaited<ReturnType<typeof server.client>>;

let renders = 0;
function Contacts() {
  renders++;
  const all = useActivePhoneBooks((q) => q.orderBy('name'));
  const count = useLocalQuery((db) =>
    db.selectFrom('phone_books').select((eb) => eb.fn.countAll<number>().as('n')),
  );
  return (
    <>
      <p data-testid="names">{all.data?.map((r) => r.name).join(',') ?? 'loading'}</p>
      <p data-testid="count">{String(count.data?.[0]?.n ?? 'loading')}</p>
    </>
  );
}

function Wrapper({ client, children }: { client: Client; children: ReactNode }) {
  return <CarburetorProvider client={client}>{children}</CarburetorProvider>;
}

describe('a sync merge refreshes the lists', () => {
  test('another client uploads, this one syncs: the lists re-render, with no polling', async () => {
    const mine = await server.client();
    const other = await server.client();
    render(
      <Wrapper client={mine}>
        <Contacts />
      </Wrapper>,
    );
    await waitFor(() => expect(screen.getByTestId('names').textContent).toBe(''));

    const ada = await other.insertPhoneBook({ owner_id: ME, name: 'Ada', phone_number: '1' });
    await other.sync();
    // Nothing changed here yet: no event, no refetch, no re-render.
    const before = renders;
    await new Promise((r) => setTimeout(r, 100));
    expect(renders).toBe(before);
    expect(screen.getByTestId('names').textContent).toBe('');

    await act(async () => {
      await mine.sync();
    });
    await waitFor(() => expect(screen.getByTestId('names').textContent).toBe('Ada'));
    expect(screen.getByTestId('count').textContent).toBe('1');

    await other.updatePhoneBook(ada.id, { name: 'Adele' });
    await other.insertPhoneBook({ owner_id: ME, name: 'Bob', phone_number: '2' });
    await other.sync();
    await act(async () => {
      await mine.sync();
    });
    await waitFor(() => expect(screen.getByTestId('names').textContent).toBe('Adele,Bob'));
    expect(screen.getByTestId('count').textContent).toBe('2');

    await other.deletePhoneBook(ada.id);
    await other.sync();
    await act(async () => {
      await mine.sync();
    });
    await waitFor(() => expect(screen.getByTestId('names').textContent).toBe('Bob'));
  });

  test('the background loop (client.start) brings the change in by itself', async () => {
    const mine = await server.client();
    const other = await server.client();
    const { result } = renderHook(() => useActivePhoneBooks((q) => q.where('name', '=', 'Cy')), {
      wrapper: ({ children }) => <Wrapper client={mine}>{children}</Wrapper>,
    });
    await waitFor(() => expect(result.current.data).toEqual([]));
    await other.insertPhoneBook({ owner_id: ME, name: 'Cy', phone_number: '3' });
    await other.sync();
    mine.start({ intervalMs: 50 });
    try {
      await waitFor(() => expect(result.current.data?.map((r) => r.name)).toEqual(['Cy']));
    } finally {
      await mine.stop();
    }
  });
});

describe('useSyncStatus', () => {
  test('follows pending, syncing, synced, offline and error', async () => {
    const online = new OnlineManager(() => undefined);
    const mine = await server.client(online);
    const seen: SyncStatus[] = [];
    const { result } = renderHook(
      () => {
        const status = useSyncStatus();
        if (seen.at(-1) !== status) seen.push(status);
        return status;
      },
      { wrapper: ({ children }) => <Wrapper client={mine}>{children}</Wrapper> },
    );
    expect(result.current).toBe(mine.status);
    expect(result.current).toMatchObject({ phase: 'idle', pendingCount: 0, online: true });

    // pending
    await act(async () => {
      await mine.insertPhoneBook({ owner_id: ME, name: 'Dee', phone_number: '4' });
    });
    await waitFor(() => expect(result.current.pendingCount).toBe(1));

    // syncing: the server holds the upload
    const release = server.hold();
    let syncing: Promise<void> = Promise.resolve();
    act(() => {
      syncing = mine.sync();
    });
    await waitFor(() => expect(result.current.phase).toBe('uploading'));
    expect(result.current.pendingCount).toBe(1);
    release();
    await act(async () => {
      await syncing;
    });

    // synced
    await waitFor(() => expect(result.current.phase).toBe('idle'));
    expect(result.current.pendingCount).toBe(0);
    expect(result.current.lastSyncedAt).not.toBeNull();
    expect(result.current.lastError).toBeNull();
    expect(seen.some((s) => s.phase === 'downloading')).toBe(true);

    // offline
    act(() => online.setOnline(false));
    await waitFor(() => expect(result.current.online).toBe(false));
    act(() => online.setOnline(true));
    await waitFor(() => expect(result.current.online).toBe(true));

    // error
    server.setFailing(true);
    try {
      await act(async () => {
        await mine.sync().catch(() => undefined);
      });
    } finally {
      server.setFailing(false);
    }
    await waitFor(() =>
      expect(result.current.lastError?.message).toMatch(/failing on purpose|sync/i),
    );
    expect(result.current.phase).toBe('idle');

    // and back
    await act(async () => {
      await mine.sync();
    });
    await waitFor(() => expect(result.current.lastError).toBeNull());

    // Each render saw a frozen snapshot, replaced only on change.
    for (const status of seen) expect(Object.isFrozen(status)).toBe(true);
  });
});

describe('useSyncProgress', () => {
  test('shows a first download page by page, done of expected, then hasSynced; nothing under way afterwards', async () => {
    const other = await server.client();
    await other.insertPhoneBooks(
      Array.from({ length: 7 }, (_, i) => ({ owner_id: ME, name: `bulk ${i}`, phone_number: '9' })),
    );
    await other.sync();
    const mine = await server.client(undefined, 2);
    const seen: { done: number; expected: number; fraction: number | null; hasSynced: boolean }[] =
      [];
    const { result } = renderHook(
      () => {
        const progress = useSyncProgress();
        const { done, expected, fraction, hasSynced } = progress;
        if (seen.at(-1)?.done !== done || seen.at(-1)?.hasSynced !== hasSynced) {
          seen.push({ done, expected, fraction, hasSynced });
        }
        return progress;
      },
      { wrapper: ({ children }) => <Wrapper client={mine}>{children}</Wrapper> },
    );
    expect(result.current).toMatchObject({ hasSynced: false, fraction: null, tables: [] });
    await act(async () => {
      await mine.sync();
    });
    const rows = (await mine.activePhoneBooks().execute()).length;
    expect(rows).toBeGreaterThanOrEqual(7);
    await waitFor(() => expect(result.current.hasSynced).toBe(true));
    expect(result.current).toMatchObject({ done: rows, expected: rows, fraction: 1 });
    // The bar moved page by page (2 rows a page) against the server's count.
    const moving = seen.filter((s) => s.fraction !== null && s.fraction < 1);
    expect(moving.length).toBeGreaterThanOrEqual(3);
    expect(moving[0]).toMatchObject({ done: 2, expected: rows, hasSynced: false });
    for (const s of moving) expect(s.expected).toBe(rows);
    // The next sync is not a first download: no bar.
    await act(async () => {
      await mine.sync();
    });
    await waitFor(() => expect(result.current.fraction).toBeNull());
    expect(result.current.hasSynced).toBe(true);
  });
});
