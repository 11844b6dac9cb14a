import { afterEach, expect, test } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
import { NOWHERE, phoneBookConfig } from './fixtures.ts';

const drivers: MemoryDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close().catch(() => undefined);
});

// Two tabs share one replica and one client id, each with its own clock in
// memory. A frozen wall clock makes both stamp in the same millisecond.
test('two clients on one replica never stamp the same write time', async () => {
  const driver = memoryDriver();
  drivers.push(driver);
  const frozen = () => 1_764_000_000_000;
  const open = () =>
    createSyncClient(phoneBookConfig, {
      driver,
      url: NOWHERE,
      groups: ['private_contacts'],
      clientId: 'shared-tab',
      now: frozen,
    });
  const tabA = await open();
  const tabB = await open();
  const times: number[] = [];
  const row = await tabA.insertPhoneBook({ owner_id: 'u', name: 'a', phone_number: '1' });
  for (let i = 0; i < 3; i++) {
    for (const tab of [tabA, tabB]) {
      await tab.updatePhoneBook(row.id, { note: `${i}` });
      const meta = (await driver.execute('SELECT sync_metadata FROM phone_books')).rows[0]!;
      times.push(
        (JSON.parse(String(meta['sync_metadata'])) as Record<string, { t: number }>)['note']!.t,
      );
    }
  }
  expect(new Set(times).size).toBe(times.length);
  expect([...times].sort((x, y) => x - y)).toEqual(times);
});
