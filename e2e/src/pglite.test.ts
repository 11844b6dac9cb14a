// The demo as `pnpm dev` runs it: no DATABASE_URL, the embedded PGlite
// default, in a fresh data directory created and migrated at first start.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstPage, newDevice } from './browser.ts';
import {
  addContact,
  badge,
  contactRow,
  editContact,
  SYNC_WAIT_MS,
  shownNames,
  signIn,
  waitSynced,
} from './demo.ts';
import { repoRoot } from './paths.ts';
import { type DemoServer, startDemoServer } from './server.ts';

let dataDir: string;
let server: DemoServer | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'carburetor-e2e-pglite-'));
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the demo on its embedded PGlite default', () => {
  it('creates the database on first start, syncs two devices live, and keeps the data across a server restart', async () => {
    server = await startDemoServer({ pgliteDir: dataDir });
    expect(server.log.join('')).toMatch(/pglite database ready/);
    const a = await newDevice('A');
    const b = await newDevice('B');
    const pageA = await firstPage(a.context);
    const pageB = await firstPage(b.context);
    await signIn(pageA, server.origin, 'grace');
    await signIn(pageB, server.origin, 'grace');
    await pageB.locator('[data-testid="sync-badge"][data-live="live"]').waitFor();

    await addContact(pageA, { name: 'Ada Lovelace', phone: '+44 20 7946 0018', published: true });
    await contactRow(pageB, 'Ada Lovelace').waitFor({ timeout: SYNC_WAIT_MS });
    await editContact(pageB, 'Ada Lovelace', { note: 'Analytical Engine, first program' });
    await expect
      .poll(() => contactRow(pageA, 'Ada Lovelace').locator('.contact-note').textContent(), {
        timeout: SYNC_WAIT_MS,
      })
      .toBe('Analytical Engine, first program');
    await addContact(pageA, { name: 'Alan Turing', phone: '+44 161 496 0000', note: 'Bletchley' });
    await addContact(pageA, { name: 'Grace Hopper', phone: '+1 202 555 0143', published: true });
    await addContact(pageA, { name: 'Katherine Johnson', phone: '+1 757 555 0199' });
    await waitSynced(pageA);

    if (process.env['E2E_SCREENSHOT'] === '1') {
      // The README's picture: the badge's panel open over the list.
      await contactRow(pageA, 'Grace Hopper').waitFor();
      await badge(pageA).locator('.badge-main').click();
      await mkdir(join(repoRoot, 'docs'), { recursive: true });
      await pageA.screenshot({ path: join(repoRoot, 'docs/demo.png') });
      await badge(pageA).locator('.badge-main').click();
    }

    // Same data directory, new process: opened, not created, and everything is there.
    const { port } = server;
    await server.stop();
    server = await startDemoServer({ pgliteDir: dataDir, port });
    const c = await newDevice('C');
    const pageC = await firstPage(c.context);
    await signIn(pageC, server.origin, 'grace');
    await expect
      .poll(() => shownNames(pageC), { timeout: SYNC_WAIT_MS })
      .toEqual(['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Katherine Johnson']);
    // Device A, never reloaded, reconnects to the restarted server by itself.
    await addContact(pageC, { name: 'Margaret Hamilton', phone: '+1 617 555 0107' });
    await contactRow(pageA, 'Margaret Hamilton').waitFor({ timeout: 20_000 });
  });
});
