import type { Page } from 'playwright-core';
import { afterEach, describe, expect, inject, test } from 'vitest';
import { type Device, openDevice, signIn } from './chromium';

const origin = inject('origin');
const devices: Device[] = [];
afterEach(async () => {
  await Promise.all(devices.splice(0).map((device) => device.close()));
});

async function device(name: string): Promise<Page> {
  const opened = await openDevice();
  devices.push(opened);
  await signIn(opened.page, origin, name);
  return opened.page;
}

async function add(page: Page, title: string, options: { shared?: boolean } = {}): Promise<void> {
  await page.getByLabel('title').fill(title);
  await page.getByLabel('shared').setChecked(options.shared ?? false);
  await page.getByRole('button', { name: 'Add' }).click();
}

const item = (page: Page, title: string) => page.getByRole('listitem').filter({ hasText: title });

describe('todos, in Chromium', () => {
  test("a todo added on alice's device A shows on her device B; bob sees only the shared one", async () => {
    const a = await device('alice');
    const b = await device('alice');
    const bob = await device('bob');

    const stamp = Date.now();
    await add(a, `private ${stamp}`);
    await add(a, `shared ${stamp}`, { shared: true });
    await item(a, `shared ${stamp}`).waitFor();

    await item(b, `private ${stamp}`).waitFor({ timeout: 30_000 });
    await item(b, `shared ${stamp}`).waitFor({ timeout: 30_000 });
    await item(bob, `shared ${stamp}`).waitFor({ timeout: 30_000 });
    expect(await item(bob, `shared ${stamp}`).textContent()).toContain('(from alice)');
    expect(await item(bob, `private ${stamp}`).count()).toBe(0);
  });
});
