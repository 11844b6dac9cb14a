import { afterAll, describe, expect, test } from 'vitest';
import { CarburetorClientError } from '../errors.ts';
import { FaultyNetwork, openFaultyClient } from './fault-fetch.ts';
import { startSyncServer } from './sync-harness.ts';

// status.hasSynced and client.waitForFirstSync() (issue 25): a complete copy,
// once, remembered by the replica.

const harness = await startSyncServer('client-first-sync');
afterAll(() => harness.stop());

let counter = 0;
const unique = (label: string) => `first-${label}-${++counter}`;
const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });

describe('hasSynced and waitForFirstSync()', () => {
  test('false on a fresh replica; true after every group is downloaded to its end, not after one page; remembered by the replica; cleared by reset()', async () => {
    const user = unique('user');
    const writer = await harness.client(user, { realtime: false });
    for (let i = 0; i < 5; i++) await writer.sync.insertPhoneBook(contact(user, `row ${i}`));
    await writer.sync.sync();

    // A first download cut after its first page (of three) is not a complete copy.
    const store = unique('store');
    const network = new FaultyNetwork();
    const a = await openFaultyClient({
      url: harness.url,
      user,
      groups: ['private_contacts'],
      store,
      network,
      pageSize: 2,
    });
    expect(a.sync.status.hasSynced).toBe(false);
    const waited = a.sync.waitForFirstSync();
    let resolved = false;
    void waited.then(() => {
      resolved = true;
    });
    const first = network.hold('download-response');
    const cut = a.sync.sync();
    await first.reached;
    first.release();
    network.dropNext('download-request');
    await expect(cut).rejects.toMatchObject({ code: 'sync_failed' });
    expect(network.fired).toEqual(['download-request']);
    expect((await a.sync.activePhoneBooks().execute()).length).toBe(2);
    expect(a.sync.status.hasSynced).toBe(false);
    expect(resolved).toBe(false);

    await a.sync.sync();
    await waited;
    expect(a.sync.status.hasSynced).toBe(true);
    expect((await a.sync.activePhoneBooks().execute()).length).toBe(5);
    await a.sync.close();
    await a.driver.close();

    const reopened = await harness.client(user, {
      store,
      groups: ['private_contacts'],
      realtime: false,
    });
    expect(reopened.sync.status.hasSynced).toBe(true);
    await expect(reopened.sync.waitForFirstSync()).resolves.toBeUndefined();

    await reopened.sync.reset();
    expect(reopened.sync.status.hasSynced).toBe(false);
  });

  test('a client with a group it never downloaded has not synced, though another group has', async () => {
    const user = unique('user');
    const store = unique('store');
    const one = await harness.client(user, {
      store,
      groups: ['private_contacts'],
      realtime: false,
    });
    await one.sync.sync();
    expect(one.sync.status.hasSynced).toBe(true);
    await one.sync.close();
    const both = await harness.client(user, {
      store,
      groups: ['private_contacts', 'directory'],
      realtime: false,
    });
    expect(both.sync.status.hasSynced).toBe(false);
  });

  test('waitForFirstSync() rejects with closed when the client closes first', async () => {
    const a = await harness.client(unique('user'), { realtime: false });
    const waited = a.sync.waitForFirstSync();
    await a.sync.close();
    await expect(waited).rejects.toBeInstanceOf(CarburetorClientError);
    await expect(waited).rejects.toMatchObject({ code: 'closed' });
    await expect(a.sync.waitForFirstSync()).rejects.toMatchObject({ code: 'closed' });
  });
});
