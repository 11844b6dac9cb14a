// @vitest-environment node
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, test } from 'vitest';
import { createCarburetorHooks, NOT_STARTED_STATUS } from '../index.ts';
import { config, type LocalClient, localClient } from './fixtures.ts';

const {
  CarburetorProvider,
  useActivePhoneBooks,
  useLocalQuery,
  useInsertPhoneBook,
  useSyncStatus,
} = createCarburetorHooks(config);

function Page() {
  const contacts = useActivePhoneBooks((q) => q.orderBy('name'));
  const notes = useLocalQuery((db) => db.selectFrom('notes').selectAll());
  const insert = useInsertPhoneBook();
  const status = useSyncStatus();
  return (
    <p>
      {`${contacts.status}/${contacts.fetchStatus} ${notes.status} ${insert.status} ${
        status === NOT_STARTED_STATUS ? 'not-started' : status.phase
      }`}
    </p>
  );
}

const opened: LocalClient[] = [];
afterEach(async () => {
  for (const client of opened.splice(0)) await client.close();
});

describe('server rendering', () => {
  test('a client promise is never awaited on the server: pending queries, not-started status', () => {
    let touched = 0;
    const promise = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable that records being awaited
      then() {
        touched++;
        return this;
      },
    } as unknown as Promise<LocalClient>;
    const html = renderToString(
      <CarburetorProvider client={promise}>
        <Page />
      </CarburetorProvider>,
    );
    expect(html).toBe('<p>pending/idle pending idle not-started</p>');
    expect(touched).toBe(0);
  });

  test('client={null} renders the same', () => {
    const html = renderToString(
      <CarburetorProvider client={null}>
        <Page />
      </CarburetorProvider>,
    );
    expect(html).toBe('<p>pending/idle pending idle not-started</p>');
  });

  test('a ready client: still no query runs during server rendering', async () => {
    const client = await localClient();
    opened.push(client);
    let runs = 0;
    const db = client.db;
    const execute = db.executeQuery.bind(db);
    db.executeQuery = ((...args: Parameters<typeof execute>) => {
      runs++;
      return execute(...args);
    }) as typeof execute;
    const html = renderToString(
      <CarburetorProvider client={client}>
        <Page />
      </CarburetorProvider>,
    );
    expect(html).toBe('<p>pending/idle pending idle not-started</p>');
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toBe(0);
  });
});
