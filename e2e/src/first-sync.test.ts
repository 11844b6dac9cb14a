// A large first sync in the demo shows a progress bar (issue 25): rows done of
// rows expected, the server's count in the signed-in user's scope, in Chromium.
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '@carburetor/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstPage, newDevice } from './browser.ts';
import { signIn } from './demo.ts';
import { type DemoServer, startDemoServer } from './server.ts';

const database = await createTestDatabase('e2e_first_sync');
let server: DemoServer;
let pool: pg.Pool;

beforeAll(async () => {
  server = await startDemoServer({ databaseUrl: database.url });
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
});

afterAll(async () => {
  await server?.stop();
  await pool?.end();
  await database.drop();
});

/** What the bar showed, recorded in the page as it changed (it is gone once the sync ends). */
const RECORD_BAR = `
  window.__bar = [];
  new MutationObserver(() => {
    const bar = document.querySelector('[data-testid="first-sync-progress"]');
    if (!bar) return;
    const seen = { now: Number(bar.getAttribute('aria-valuenow')), max: Number(bar.getAttribute('aria-valuemax')) };
    const last = window.__bar.at(-1);
    if (!last || last.now !== seen.now || last.max !== seen.max) window.__bar.push(seen);
  }).observe(document, { subtree: true, childList: true, attributes: true });
`;

describe('the first sync of a large phone book, in Chromium', () => {
  it("shows a progress bar that counts this user's rows page by page, then the list", async () => {
    const me = `big-${randomBytes(3).toString('hex')}`;
    const rows = 4_500;
    // Someone else's rows, published or not, never count in my bar's private part.
    await pool.query(
      `insert into phone_books (id, owner_id, name, phone_number)
       select $1 || '-' || n, $1, 'Contact ' || lpad(n::text, 5, '0'), '555-' || n from generate_series(1, $2::int) as n`,
      [me, rows],
    );
    await pool.query(
      `insert into phone_books (id, owner_id, name, phone_number)
       select 'other-' || n, 'other', 'Other ' || n, '1' from generate_series(1, 3000) as n`,
    );
    const device = await newDevice('big');
    const page = await firstPage(device.context);
    await page.addInitScript(RECORD_BAR);
    await signIn(page, server.origin, me);
    await page
      .locator('[data-testid="sync-badge"][data-phase="idle"]:not([data-last-synced=""])')
      .waitFor({ timeout: 60_000 });
    const bar = (await page.evaluate(() => Reflect.get(window, '__bar'))) as {
      now: number;
      max: number;
    }[];
    // Pages of 1,000 rows against the server's count of my rows only.
    expect(bar.length).toBeGreaterThanOrEqual(2);
    for (const seen of bar) expect(seen.max).toBe(rows);
    expect(bar.map((s) => s.now)).toEqual([...bar.map((s) => s.now)].sort((a, b) => a - b));
    expect(bar.every((s) => s.now > 0 && s.now <= rows)).toBe(true);
    expect(bar.some((s) => s.now < rows)).toBe(true);
    // Done: the bar is gone and the list shows every row.
    await expect(page.getByTestId('first-sync-progress').count()).resolves.toBe(0);
    await expect(page.getByRole('tab', { name: /My contacts/ }).textContent()).resolves.toContain(
      String(rows),
    );
  }, 120_000);
});
