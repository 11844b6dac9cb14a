// The demo against the test run's PostgreSQL (DATABASE_URL), in Chromium:
// each "device" is its own persistent browser profile, so its own OPFS replica.
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '@carburetor/testing';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, firstPage, newDevice } from './browser.ts';
import {
  addContact,
  contactRow,
  deleteContact,
  editContact,
  openApp,
  replicaRows,
  SYNC_WAIT_MS,
  shownContact,
  shownNames,
  showTab,
  signIn,
  signOut,
  syncNow,
  waitReady,
  waitSynced,
} from './demo.ts';
import { type DemoServer, startDemoServer } from './server.ts';

const database = await createTestDatabase('e2e_demo');
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

/** A user name no other test uses. */
function user(name: string): string {
  return `${name}-${randomBytes(3).toString('hex')}`;
}

/** A new device (browser profile) signed in as `userId`, its first tab showing the app. */
async function device(label: string, userId: string): Promise<{ device: Device; page: Page }> {
  const d = await newDevice(label);
  const page = await firstPage(d.context);
  await signIn(page, server.origin, userId);
  return { device: d, page };
}

/** The server's copy of a contact, by name. */
async function serverRow(owner: string, name: string) {
  const { rows } = await pool.query(
    'select name, phone_number, note, published, is_deleted from phone_books where owner_id = $1 and name = $2',
    [owner, name],
  );
  return rows[0] as
    | { name: string; phone_number: string; note: string | null; is_deleted: boolean }
    | undefined;
}

const poll = { timeout: SYNC_WAIT_MS, interval: 100 };

describe('the phone book demo on PostgreSQL, in Chromium', () => {
  it('1. shows a contact added on device A on device B (same user) without a reload', async () => {
    const me = user('ann');
    const a = await device('A', me);
    const b = await device('B', me);
    await waitSynced(b.page);
    const bLive = b.page.locator('[data-testid="sync-badge"][data-live="live"]');
    await bLive.waitFor({ timeout: 10_000 });

    const started = Date.now();
    await addContact(a.page, { name: 'Bea Realtime', phone: '555-0101' });
    await contactRow(b.page, 'Bea Realtime').waitFor({ timeout: SYNC_WAIT_MS });
    const ms = Date.now() - started;
    console.log(`test 1: device B showed device A's contact after ${ms} ms`);
    expect(await shownContact(b.page, 'Bea Realtime')).toEqual({ phone: '555-0101', note: null });
    expect(await serverRow(me, 'Bea Realtime')).toMatchObject({ phone_number: '555-0101' });
  });

  it('2. merges offline edits per column, and the later write wins a conflict', async () => {
    const me = user('carl');
    const a = await device('A', me);
    await addContact(a.page, { name: 'Carl', phone: '100', note: 'first note' });
    await waitSynced(a.page);
    const b = await device('B', me);
    await contactRow(b.page, 'Carl').waitFor();

    // Different columns: both edits survive.
    await a.device.context.setOffline(true);
    await b.device.context.setOffline(true);
    await editContact(a.page, 'Carl', { phone: '111' });
    await editContact(b.page, 'Carl', { note: 'edited on B' });
    await a.device.context.setOffline(false);
    await b.device.context.setOffline(false);
    for (const page of [a.page, b.page]) {
      await expect
        .poll(() => shownContact(page, 'Carl'), poll)
        .toEqual({ phone: '111', note: 'edited on B' });
    }
    expect(await serverRow(me, 'Carl')).toMatchObject({
      phone_number: '111',
      note: 'edited on B',
    });

    // Same column: the later write wins on both, whichever arrives first.
    await waitSynced(a.page);
    await waitSynced(b.page);
    await a.device.context.setOffline(true);
    await b.device.context.setOffline(true);
    await editContact(a.page, 'Carl', { phone: '222 (A, earlier)' });
    await new Promise((r) => setTimeout(r, 50));
    await editContact(b.page, 'Carl', { phone: '333 (B, later)' });
    await b.device.context.setOffline(false);
    await waitSynced(b.page);
    await a.device.context.setOffline(false);
    for (const page of [a.page, b.page]) {
      await expect
        .poll(async () => (await shownContact(page, 'Carl')).phone, poll)
        .toBe('333 (B, later)');
    }
    expect(await serverRow(me, 'Carl')).toMatchObject({ phone_number: '333 (B, later)' });
  });

  it('3. a contact deleted on A while B edits it offline ends deleted on both', async () => {
    const me = user('dan');
    const a = await device('A', me);
    await addContact(a.page, { name: 'Dan', phone: '200' });
    await waitSynced(a.page);
    const b = await device('B', me);
    await contactRow(b.page, 'Dan').waitFor();

    await b.device.context.setOffline(true);
    await editContact(b.page, 'Dan', { note: 'B edits while offline' });
    await deleteContact(a.page, 'Dan');
    await waitSynced(a.page);
    await b.device.context.setOffline(false);

    await contactRow(b.page, 'Dan').waitFor({ state: 'detached', timeout: SYNC_WAIT_MS });
    await waitSynced(b.page);
    expect(await contactRow(a.page, 'Dan').count()).toBe(0);
    expect(await serverRow(me, 'Dan')).toMatchObject({ is_deleted: true });
    const inB = (await replicaRows(b.page)).find((r) => r.name === 'Dan');
    expect(inB?.is_deleted).toBe(true);
  });

  it('4. keeps data across reload and browser restart, and uploads changes made offline before them', async () => {
    const me = user('eve');
    const a = await device('A', me);
    const b = await device('B', me);
    await addContact(a.page, { name: 'Eve Online', phone: '300' });
    await waitSynced(a.page);

    // Offline (the API unreachable, so the page itself still loads), a write, then a reload.
    await a.device.context.route('**/api/trpc/**', (route) => route.abort('internetdisconnected'));
    await addContact(a.page, { name: 'Eve Before Reload', phone: '301' });
    await a.page.reload();
    await waitReady(a.page);
    expect(await shownNames(a.page)).toEqual(['Eve Before Reload', 'Eve Online']);
    expect(Number(await a.page.getByTestId('sync-badge').getAttribute('data-pending'))).toBe(1);
    expect(await serverRow(me, 'Eve Before Reload')).toBeUndefined();
    // The server is reachable again: the user asks for a sync rather than wait out the backoff.
    await a.device.context.unroute('**/api/trpc/**');
    await syncNow(a.page);
    await contactRow(b.page, 'Eve Before Reload').waitFor({ timeout: SYNC_WAIT_MS });

    // Offline, a write, then the browser closes; it restarts online.
    await a.device.context.setOffline(true);
    await addContact(a.page, { name: 'Eve Before Restart', phone: '302' });
    const restarted = await a.device.restart();
    const page = await firstPage(restarted);
    await openApp(page, server.origin); // the session cookie survived the restart too
    expect(await shownNames(page)).toEqual([
      'Eve Before Reload',
      'Eve Before Restart',
      'Eve Online',
    ]);
    await contactRow(b.page, 'Eve Before Restart').waitFor({ timeout: SYNC_WAIT_MS });
    await waitSynced(page);
    expect(await serverRow(me, 'Eve Before Restart')).toMatchObject({ phone_number: '302' });
  });

  it('5. two tabs of one browser share the replica: a write in one shows in the other at once', async () => {
    const me = user('tab');
    const a = await device('A', me);
    const second = await a.device.context.newPage();
    await openApp(second, server.origin);
    // Offline, so what the second tab shows can only come from the shared replica.
    await a.device.context.setOffline(true);
    const started = Date.now();
    await addContact(a.page, { name: 'Tabitha', phone: '400' });
    await contactRow(second, 'Tabitha').waitFor({ timeout: 3_000 });
    console.log(`test 5: the other tab showed the write after ${Date.now() - started} ms`);
    await editContact(second, 'Tabitha', { note: 'from the second tab' });
    await expect
      .poll(() => shownContact(a.page, 'Tabitha'), { timeout: 3_000 })
      .toEqual({ phone: '400', note: 'from the second tab' });
    await a.device.context.setOffline(false);
    await waitSynced(a.page);
    await waitSynced(second);
    expect(await serverRow(me, 'Tabitha')).toMatchObject({ note: 'from the second tab' });
  });

  it("6. a user never sees another user's private contacts, on the page or in the replica", async () => {
    const ann = user('ann');
    const zoe = user('zoe');
    const z = await device('Z', zoe);
    await addContact(z.page, { name: 'Zoe Secret', phone: '500' });
    await addContact(z.page, { name: 'Zoe Public', phone: '501', published: true });
    await waitSynced(z.page);

    const a = await device('A', ann);
    await addContact(a.page, { name: 'Ann Private', phone: '600' });
    await waitSynced(a.page);
    await expect.poll(() => shownNames(a.page)).toEqual(['Ann Private']);
    await showTab(a.page, 'Directory');
    await expect.poll(() => shownNames(a.page)).toContain('Zoe Public');
    expect(await shownNames(a.page)).not.toContain('Zoe Secret');
    const annReplica = await replicaRows(a.page);
    expect(annReplica.map((r) => r.name).sort()).toEqual(
      expect.arrayContaining(['Ann Private', 'Zoe Public']),
    );
    expect(annReplica.filter((r) => r.owner_id === zoe && !r.published)).toEqual([]);
    expect(annReplica.every((r) => r.owner_id === ann || r.published)).toBe(true);
    // Read-only for others: no edit or delete buttons on Zoe's listed contact.
    expect(await contactRow(a.page, 'Zoe Public').getByRole('button').count()).toBe(0);

    // Same browser, the other user: the replica is wiped at sign-out.
    await signOut(a.page);
    await signIn(a.page, server.origin, zoe);
    await expect.poll(() => shownNames(a.page)).toEqual(['Zoe Public', 'Zoe Secret']);
    const zoeReplica = await replicaRows(a.page);
    expect(zoeReplica.some((r) => r.owner_id === ann)).toBe(false);
    expect(await a.page.evaluate(() => window.__carburetor?.driver.name)).toBe(`carburetor-${zoe}`);

    await signOut(a.page);
    await signIn(a.page, server.origin, ann);
    await expect.poll(() => shownNames(a.page)).toEqual(['Ann Private']);
    expect((await replicaRows(a.page)).filter((r) => r.owner_id === zoe && !r.published)).toEqual(
      [],
    );
  });

  it('7. an empty name is refused with a form error; nothing is written or synced', async () => {
    const me = user('val');
    const a = await device('A', me);
    await addContact(a.page, { name: '   ', phone: '700' });
    const form = a.page.getByRole('form', { name: 'Add a contact' });
    await expect.poll(() => form.getByRole('alert').textContent()).toBe('A contact needs a name.');
    expect(await form.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
    expect((await replicaRows(a.page)).filter((r) => r.owner_id === me)).toEqual([]);
    expect(await a.page.getByTestId('sync-badge').getAttribute('data-pending')).toBe('0');
    // The same rule on an edit.
    await addContact(a.page, { name: 'Valid', phone: '701' });
    await waitSynced(a.page);
    const row = contactRow(a.page, 'Valid');
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = a.page.locator('[data-testid="contact"] form');
    await edit.getByLabel('Name').fill('');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => edit.getByRole('alert').textContent()).toBe('A contact needs a name.');
    await new Promise((r) => setTimeout(r, 500));
    expect((await replicaRows(a.page)).filter((r) => r.owner_id === me).map((r) => r.name)).toEqual(
      ['Valid'],
    );
    const { rows } = await pool.query('select name from phone_books where owner_id = $1', [me]);
    expect(rows).toEqual([{ name: 'Valid' }]);
  });

  it('8. the inspector: a pending row shows until it syncs; a rejected row is discarded from the panel', async () => {
    const me = user('ines');
    const a = await device('A', me);
    await waitSynced(a.page);
    await a.page.getByRole('button', { name: 'Open the inspector' }).click();
    const inspector = a.page.getByRole('region', { name: 'Carburetor inspector' });
    await inspector.getByRole('tab', { name: 'Status' }).waitFor();

    await a.device.context.setOffline(true);
    await addContact(a.page, { name: 'Pending Pat', phone: '555-0199' });
    await inspector.getByRole('tab', { name: 'Pending (1)' }).click();
    const pending = inspector.getByRole('tabpanel', { name: 'Pending' });
    await pending.getByRole('cell', { name: 'insert', exact: true }).waitFor();
    await pending.getByText(/phone_number \(/).waitFor();
    await a.device.context.setOffline(false);
    await pending.getByText('Nothing waits for upload.').waitFor({ timeout: SYNC_WAIT_MS });
    expect(await serverRow(me, 'Pending Pat')).toMatchObject({ phone_number: '555-0199' });

    // A row the server refuses: written for another owner, through the page's own client.
    const forgedId = await a.page.evaluate(async () => {
      const client = window.__carburetor?.client;
      if (!client) throw new Error('no sync client on the page');
      const row = await client.insertPhoneBook({
        owner_id: 'someone-else',
        name: 'Forged',
        phone_number: '1',
      });
      return row.id;
    });
    await inspector.getByRole('tab', { name: 'Rejected (1)' }).click({ timeout: SYNC_WAIT_MS });
    const rejected = inspector.getByRole('tabpanel', { name: 'Rejected' });
    await rejected.getByRole('cell', { name: forgedId, exact: true }).waitFor();
    await rejected.getByRole('cell', { name: 'insufficient_permission', exact: true }).waitFor();
    await rejected.getByRole('button', { name: 'Discard' }).click();
    await rejected.getByText('No rejected or quarantined rows.').waitFor({ timeout: SYNC_WAIT_MS });
    expect(await a.page.evaluate(() => window.__carburetor?.client.rejected())).toEqual([]);
    expect(await serverRow('someone-else', 'Forged')).toBeUndefined();
  });
});
