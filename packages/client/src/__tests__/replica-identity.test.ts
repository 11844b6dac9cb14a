import { afterAll, describe, expect, test } from 'vitest';
import { CarburetorClientError } from '../errors.ts';
import { startSyncServer } from './sync-harness.ts';

// A replica belongs to one identity: signed out without reset() and another
// user signed in on the same device, the new user never sees or uploads the
// previous user's rows.

const server = await startSyncServer('client-identity');
afterAll(() => server.stop());

let counter = 0;
const unique = (label: string) => `id-${label}-${++counter}`;
const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });

async function names(client: Awaited<ReturnType<typeof server.client>>) {
  return (await client.sync.activePhoneBooks().execute()).map((row) => row.name).sort();
}

/** Signs out the way an app forgets to: the client and its driver closed, no reset(). */
async function signOut(client: Awaited<ReturnType<typeof server.client>>) {
  await client.sync.close();
  await client.driver.close();
}

describe('a replica belongs to one identity', () => {
  test("A signed out with everything synced: B's replica starts empty and B never uploads A's rows", async () => {
    const store = unique('device');
    const [alice, bob] = [unique('alice'), unique('bob')];
    const a = await server.client(alice, { store, identity: alice });
    await a.sync.insertPhoneBook(contact(alice, 'alice row'));
    await a.sync.sync();
    await signOut(a);

    const b = await server.client(bob, { store, identity: bob });
    expect(await names(b)).toEqual([]);
    expect(b.sync.status.pendingCount).toBe(0);
    await b.sync.insertPhoneBook(contact(bob, 'bob row'));
    await b.sync.sync();
    expect(await names(b)).toEqual(['bob row']);
    expect(await b.sync.rejected()).toEqual([]);
    expect(b.gates.calls.upload).toBeGreaterThan(0);
    await signOut(b);

    // A comes back: A's rows come from the server again, none of Bob's.
    const again = await server.client(alice, { store, identity: alice });
    await again.sync.sync();
    expect(await names(again)).toEqual(['alice row']);
  });

  test('A signed out with unsent rows: opening the replica for B is refused and changes nothing; A finds them again', async () => {
    const store = unique('device');
    const [alice, bob] = [unique('alice'), unique('bob')];
    const a = await server.client(alice, { store, identity: alice });
    const offline = await a.sync.insertPhoneBook(contact(alice, 'written offline'));
    await signOut(a);

    const refused = await server.client(bob, { store, identity: bob }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(CarburetorClientError);
    expect(refused).toMatchObject({
      code: 'replica_owned',
      message: expect.stringContaining('left 1 unsent row in it; nothing was changed'),
    });
    expect(await server.serverRow(offline.id)).toBeUndefined();

    const back = await server.client(alice, { store, identity: alice });
    expect(await names(back)).toEqual(['written offline']);
    expect(back.sync.status.pendingCount).toBe(1);
    await back.sync.sync();
    expect((await server.serverRow(offline.id))?.['owner_id']).toBe(alice);
  });

  test("identityChange: 'discard' opens it for B, dropping A's unsent rows unseen and unsent", async () => {
    const store = unique('device');
    const [alice, bob] = [unique('alice'), unique('bob')];
    const a = await server.client(alice, { store, identity: alice });
    const offline = await a.sync.insertPhoneBook(contact(alice, 'never sent'));
    await signOut(a);

    const b = await server.client(bob, { store, identity: bob, identityChange: 'discard' });
    expect(await names(b)).toEqual([]);
    expect(b.sync.status).toMatchObject({ pendingCount: 0, rejectedCount: 0 });
    await b.sync.sync();
    expect(await server.serverRow(offline.id)).toBeUndefined();
    expect(await b.sync.rejected()).toEqual([]);
  });

  test('a replica from before identities becomes the first identity’s as it is', async () => {
    const store = unique('device');
    const alice = unique('alice');
    const legacy = await server.client(alice, { store });
    await legacy.sync.insertPhoneBook(contact(alice, 'kept'));
    await signOut(legacy);
    const a = await server.client(alice, { store, identity: alice });
    expect(await names(a)).toEqual(['kept']);
    expect(a.sync.status.pendingCount).toBe(1);
  });

  test('refuses an empty identity or an unknown identityChange, naming the option', async () => {
    const alice = unique('alice');
    await expect(server.client(alice, { identity: '' })).rejects.toThrow(
      /identity must be a non-empty string \(e.g. the user's id\); got ""/,
    );
    await expect(
      server.client(alice, { identity: alice, identityChange: 'keep' as never }),
    ).rejects.toThrow(/identityChange must be 'refuse' or 'discard'; got "keep"/);
  });
});
