import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { PIPELINED_PAGE_SIZE } from '../src/sync/download.ts';
import { chromiumPath, freshProfile, launch, openPage } from './harness.ts';
import type { Session } from './page/main.ts';
import { type SyncSite, startSyncSite } from './sync-server.ts';

declare global {
  var session: Session;
}

// Issue 25: a first download cut by a reload goes on from the last page it
// applied, its progress too; nothing is downloaded twice beyond one page.
// Small pages go one at a time; from PIPELINED_PAGE_SIZE a download asks for
// the next half page while it applies one, and must keep the same bound.

let site: SyncSite;
const profiles: string[] = [];
beforeAll(async () => {
  chromiumPath();
  site = await startSyncSite('browser_resume_download');
});
afterAll(async () => {
  await site?.close();
  for (const dir of profiles) await rm(dir, { recursive: true, force: true });
});

test.each([
  { ROWS: 3_000, PAGE: 100, requested: 100 },
  { ROWS: 20_000, PAGE: PIPELINED_PAGE_SIZE, requested: PIPELINED_PAGE_SIZE / 2 },
])(
  'a reload in the middle of a first download of $ROWS rows in pages of $PAGE resumes from the last applied page',
  async ({ ROWS, PAGE, requested }) => {
    const user = `resume-user-${PAGE}`;
    await site.seed(user, ROWS);
    const dir = await freshProfile();
    profiles.push(dir);
    const context = await launch(dir);
    const options = { name: `resume-${PAGE}`, user, tab: 'A', pageSize: PAGE };

    site.slowDownloadsMs = 40; // about 30 pages of 40 ms: time to reload in the middle
    const page = await openPage(context, site.origin, 'resume-A');
    await page.evaluate((o) => carburetor.openClient(o), options);
    const first = site.requests.length; // this case's requests start here
    const downloads = () =>
      site.requests.slice(first).filter((r) => r.procedure.endsWith('.download')).length;
    // Cut by the reload: this evaluation's page goes away.
    const cut = page.evaluate(() => session.client.sync()).catch(() => 'cut');
    await expect.poll(downloads, { timeout: 30_000, interval: 10 }).toBeGreaterThanOrEqual(6);
    await page.reload();
    expect(await cut).toBe('cut');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
    site.slowDownloadsMs = 0;

    await page.evaluate((o) => carburetor.openClient(o), options);
    const kept = await page.evaluate(async () =>
      Number(
        (await session.client.queryReadOnly('SELECT count(*) AS n FROM phone_books')).rows[0]?.[
          'n'
        ],
      ),
    );
    // Pages applied before the reload stay; the one in flight was lost.
    expect(kept).toBeGreaterThanOrEqual(4 * requested);
    expect(kept).toBeLessThan(ROWS);
    expect(kept % requested).toBe(0);
    expect(await page.evaluate(() => session.client.status.hasSynced)).toBe(false);
    // The progress bar goes on from there: the replica kept it with the pages.
    const progress = () =>
      page.evaluate(() =>
        session.client.status.progress
          .filter((p) => p.table === 'phone_book')
          .map(({ done, expected, complete }) => ({ done, expected, complete })),
      );
    expect(await progress()).toEqual([{ done: kept, expected: ROWS, complete: false }]);

    await page.evaluate(() => session.client.sync());
    expect(await progress()).toEqual([{ done: ROWS, expected: ROWS, complete: true }]);
    const after = await page.evaluate(() =>
      session.client
        .recentActivity()
        .filter((a) => a.kind === 'download')
        .reduce((sum, a) => sum + a.rows, 0),
    );
    const total = await page.evaluate(
      async () => (await session.client.activePhoneBooks().execute()).length,
    );
    expect(total).toBe(ROWS);
    expect(await page.evaluate(() => session.client.status.hasSynced)).toBe(true);
    // Downloaded after the reload: what was missing, and at most one page again.
    expect(after).toBeGreaterThanOrEqual(ROWS - kept);
    expect(after).toBeLessThanOrEqual(ROWS - kept + PAGE);
    // What the server sent over both sessions, answers cut by the reload included:
    // every row once, plus at most the one page that was in flight.
    const served = site.requests
      .slice(first)
      .filter((r) => r.procedure.endsWith('.download'))
      .reduce((sum, r) => sum + (r.entries ?? 0), 0);
    expect(served).toBeGreaterThanOrEqual(ROWS);
    expect(served).toBeLessThanOrEqual(ROWS + PAGE);
    console.log(
      `resume: ${kept} rows kept through the reload, ${after} entries downloaded after it (${ROWS - kept} were missing); the server sent ${served} entries in all for ${ROWS} rows`,
    );
  },
);
