// The check every consumer app passes in Chromium: a todo added on device A
// shows on device B (another browser profile, already open) and in a second
// tab of A. The apps render `<input aria-label="title">`, an "Add" button and
// each todo's title in a list item; the signed-in user is the `user` cookie.
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { firstPage, newDevice } from '../browser.ts';
import { elapsed } from './run.ts';

const SHOWS_WITHIN_MS = 30_000;

async function openApp(context: BrowserContext, origin: string, page?: Page): Promise<Page> {
  await context.addCookies([{ name: 'user', value: 'alice', url: origin }]);
  const tab = page ?? (await context.newPage());
  await tab.goto(origin);
  await tab.getByLabel('title').waitFor({ timeout: 60_000 });
  return tab;
}

async function shows(page: Page, title: string): Promise<void> {
  await page.getByRole('listitem').filter({ hasText: title }).waitFor({ timeout: SHOWS_WITHIN_MS });
}

/** Runs the check against the app served at `origin`; logs how long each part took. */
export async function checkInsertSyncs(origin: string, label: string): Promise<void> {
  let started = Date.now();
  const deviceA = await newDevice(`${label}-A`);
  const deviceB = await newDevice(`${label}-B`);
  const a = await openApp(deviceA.context, origin, await firstPage(deviceA.context));
  const b = await openApp(deviceB.context, origin, await firstPage(deviceB.context));
  console.log(`consumers: ${label}: two devices opened the app in ${elapsed(started)}`);

  started = Date.now();
  const title = `written on A ${Date.now()}`;
  await a.getByLabel('title').fill(title);
  await a.getByRole('button', { name: 'Add' }).click();
  await shows(a, title);
  await shows(b, title);
  console.log(`consumers: ${label}: A's insert showed on B in ${elapsed(started)}`);

  started = Date.now();
  const a2 = await openApp(deviceA.context, origin);
  await shows(a2, title);
  console.log(`consumers: ${label}: and in A's second tab in ${elapsed(started)}`);
  expect(await b.getByRole('listitem').filter({ hasText: title }).count()).toBe(1);
}
