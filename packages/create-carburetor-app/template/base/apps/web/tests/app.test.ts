import { afterEach, describe, expect, inject, test } from 'vitest';
import { type Device, openDevice, signIn } from './chromium';

const origin = inject('origin');
const devices: Device[] = [];
afterEach(async () => {
  await Promise.all(devices.splice(0).map((device) => device.close()));
});

describe('the app', () => {
  test('answers its own procedure, and refuses sync to a visitor who is not signed in', async () => {
    const whoami = await fetch(`${origin}/api/trpc/whoami`, { headers: { cookie: 'user=alice' } });
    expect(await whoami.json()).toEqual({ result: { data: { userId: 'alice' } } });

    const download = await fetch(`${origin}/api/trpc/sync.mine.download`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(download.status).toBe(401);
  });

  test('signs a user in, in Chromium: the replica syncs live and the server knows who it is', async () => {
    const device = await openDevice();
    devices.push(device);
    await signIn(device.page, origin, 'alice');
    await expect.poll(() => device.page.getByTestId('whoami').textContent()).toBe('alice');
  });
});
