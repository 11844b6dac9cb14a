// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CarburetorDevtools } from '../devtools/index.ts';
import { ME } from './fixtures.ts';
import { startSyncServer } from './sync-server.ts';

// The inspector over a real client and server: what a developer sees in it.

let server: Awaited<ReturnType<typeof startSyncServer>>;
beforeAll(async () => {
  server = await startSyncServer('react-devtools');
});
afterAll(async () => {
  await server?.stop();
});
afterEach(() => cleanup());

const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });

async function openTab(name: RegExp) {
  fireEvent.click(await screen.findByRole('tab', { name }));
  return screen.getByRole('tabpanel');
}

describe('<CarburetorDevtools>', () => {
  test('closed, it is one button; opened, it shows the status', async () => {
    const client = await server.client();
    render(<CarburetorDevtools client={client} />);
    expect(screen.queryByRole('region', { name: 'Carburetor inspector' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Carburetor' }));
    const panel = await screen.findByRole('tabpanel', { name: 'Status' });
    expect(within(panel).getByText('pendingCount')).toBeTruthy();
  });

  test('a pending row appears with its dirty columns, and leaves after sync; the activity log shows the upload', async () => {
    const client = await server.client();
    render(<CarburetorDevtools client={Promise.resolve(client)} initialIsOpen />);
    const row = await client.insertPhoneBook(contact(ME, 'Ada'));
    await waitFor(() => expect(screen.getByRole('tab', { name: 'Pending (1)' })).toBeTruthy());
    const pending = await openTab(/^Pending/);
    expect(within(pending).getByText(row.id)).toBeTruthy();
    expect(within(pending).getByText('insert')).toBeTruthy();
    expect(within(pending).getByText(/phone_number \(/)).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Sync now' }));
    await waitFor(() =>
      expect(within(pending).getByText('Nothing waits for upload.')).toBeTruthy(),
    );
    const activity = await openTab(/^Activity/);
    await waitFor(() => {
      expect(within(activity).getByText('upload')).toBeTruthy();
      expect(within(activity).getByText('download')).toBeTruthy();
    });
    const cursors = await openTab(/^Cursors/);
    await waitFor(() => expect(within(cursors).getAllByText('synced').length).toBe(2));
  });

  test('a rejected row shows its code and message; Discard removes it', async () => {
    const client = await server.client();
    render(<CarburetorDevtools client={client} initialIsOpen />);
    const forged = await client.insertPhoneBook(contact('someone-else', 'Forged'));
    await client.sync();
    await waitFor(() => expect(screen.getByRole('tab', { name: 'Rejected (1)' })).toBeTruthy());
    const rejected = await openTab(/^Rejected/);
    expect(within(rejected).getByText(forged.id)).toBeTruthy();
    expect(within(rejected).getByText('insufficient_permission')).toBeTruthy();
    fireEvent.click(within(rejected).getByRole('button', { name: 'Discard' }));
    await waitFor(() =>
      expect(within(rejected).getByText('No rejected or quarantined rows.')).toBeTruthy(),
    );
    expect(await client.rejected()).toEqual([]);
    const ids = (await client.activePhoneBooks().execute()).map((r) => r.id);
    expect(ids).not.toContain(forged.id);
  });

  test('the query box reads the replica and refuses a write, which changes nothing', async () => {
    const client = await server.client();
    const kept = await client.insertPhoneBook(contact(ME, 'Kept'));
    render(<CarburetorDevtools client={client} initialIsOpen />);
    const query = await openTab(/^Query/);
    fireEvent.click(await within(query).findByRole('button', { name: 'phone_books' }));
    expect(await within(query).findByText('Kept')).toBeTruthy();

    const box = within(query).getByLabelText('read-only query');
    fireEvent.change(box, { target: { value: 'DELETE FROM phone_books' } });
    fireEvent.click(within(query).getByRole('button', { name: 'Run' }));
    expect((await within(query).findByRole('alert')).textContent).toMatch(
      /^queryReadOnly runs one SELECT/,
    );
    expect((await client.activePhoneBooks().execute()).map((r) => r.id)).toEqual([kept.id]);
  });
});
