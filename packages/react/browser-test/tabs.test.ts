import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import './page/page-app.ts';
import { chromiumPath, launchChromium, openPage, startTestSite, type TestSite } from './site.ts';

let site: TestSite;
beforeAll(async () => {
  chromiumPath(); // fail first, and clearly, when there is no browser
  site = await startTestSite();
});
afterAll(async () => {
  await site?.close();
});

/**
 * Two tabs of one browser on the replica `db`, each with its own client;
 * the OPFS driver shares the database between them (one tab owns the worker).
 */
async function twoTabs(db: string) {
  const browser = await launchChromium();
  const logs: string[][] = [[], []];
  onTestFinished(async ({ task }) => {
    if (task.result?.state === 'fail') {
      console.log(logs.map((log, i) => `tab ${i + 1}:\n${log.join('\n')}`).join('\n'));
    }
    await browser.close();
  });
  const url = `${site.origin}/?db=${db}`;
  const first = await openPage(await browser.context.newPage(), url, logs[0]);
  const second = await openPage(await browser.context.newPage(), url, logs[1]);
  return { first, second };
}

const names = (page: Page) => page.evaluate(() => app.names());
const untilNames = (page: Page, expected: string[]) =>
  page.waitForFunction(
    (want) => JSON.stringify(app.names().sort()) === JSON.stringify(want),
    [...expected].sort(),
    { timeout: 10_000 },
  );

describe('two tabs on one OPFS replica', () => {
  test('a write in one tab re-renders the list in the other', async () => {
    const { first, second } = await twoTabs('tabs');
    expect(await first.evaluate(() => app.storage())).toBe('opfs');
    expect(await second.evaluate(() => app.storage())).toBe('opfs');
    expect(await names(first)).toEqual([]);

    const ada = await first.evaluate(() => app.insert('Ada'));
    expect(await names(first)).toEqual(['Ada']); // the writer's own list, at once
    await untilNames(second, ['Ada']);

    const rendersBefore = (await second.evaluate(() => app.renders())).carburetor;
    await second.evaluate(() => app.insert('Bob'));
    await untilNames(first, ['Ada', 'Bob']);
    await first.evaluate((id) => app.remove(id), ada);
    await untilNames(second, ['Bob']);
    await untilNames(first, ['Bob']);
    // The other tab re-rendered because of the writes, not on a timer.
    const quiet = (await second.evaluate(() => app.renders())).carburetor;
    await new Promise((r) => setTimeout(r, 500));
    expect((await second.evaluate(() => app.renders())).carburetor).toBe(quiet);
    expect(quiet).toBeGreaterThan(rendersBefore);
  });

  test("the other tab's useSyncStatus counts the pending write", async () => {
    const { first, second } = await twoTabs('tabs-status');
    expect(await second.evaluate(() => app.pending())).toBe(0);
    await first.evaluate(() => app.insert('Ada'));
    await first.waitForFunction(() => app.pending() === 1);
    await second.waitForFunction(() => app.pending() === 1, undefined, { timeout: 10_000 });
    await untilNames(second, ['Ada']);
  });
});
