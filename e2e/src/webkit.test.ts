// The demo's sync and two-tab cases in WebKitGTK (MiniBrowser 2.50 through
// WebKitWebDriver, under Xvfb). WebKitGTK refuses OPFS access handles, so
// the demo's replica lives in IndexedDB (its opfsDriver falls back to it).
// A WebDriver session's storage is ephemeral: the browser-restart case
// stays in Chromium (sync.test.ts).
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '@carburetor/testing';
import { webkitPaths } from '@carburetor/testing/webkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_WAIT_MS } from './demo.ts';
import { type DemoServer, startDemoServer } from './server.ts';
import {
  addContact,
  contactCss,
  openApp,
  replicaOf,
  SYNCED,
  shownNames,
  signIn,
  storedIn,
  WebKitDevice,
} from './webkit.ts';

const database = await createTestDatabase('e2e_webkit');
let server: DemoServer;
let pool: pg.Pool;

beforeAll(async () => {
  // Fails first, and says how to install WebKitGTK, when it is missing.
  webkitPaths();
  server = await startDemoServer({ databaseUrl: database.url });
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
});

afterAll(async () => {
  await server?.stop();
  await pool?.end();
  await database.drop();
});

function user(name: string): string {
  return `${name}-${randomBytes(3).toString('hex')}`;
}

async function serverPhone(owner: string, name: string): Promise<string | undefined> {
  const { rows } = await pool.query(
    'select phone_number from phone_books where owner_id = $1 and name = $2',
    [owner, name],
  );
  return (rows[0] as { phone_number: string } | undefined)?.phone_number;
}

describe('the phone book demo on PostgreSQL, in WebKitGTK', () => {
  it('shows a contact added on device A on device B (same user) without a reload', async () => {
    const me = user('wanda');
    const a = await WebKitDevice.launch('A');
    const aTab = await a.tab();
    await signIn(a, aTab, server.origin, me);
    expect(await replicaOf(a, aTab)).toEqual({ storage: 'indexeddb', isOwner: true });
    // What the user is told: the sync badge's panel says where the replica lives.
    await a.waitFor(aTab, '[data-testid="sync-badge"][data-storage="indexeddb"]');
    expect(await storedIn(a, aTab)).toBe(
      'this browser (IndexedDB: this browser has no usable OPFS)',
    );
    const b = await WebKitDevice.launch('B');
    const bTab = await b.tab();
    await signIn(b, bTab, server.origin, me);
    await b.waitFor(bTab, SYNCED);
    await b.waitFor(bTab, '[data-testid="sync-badge"][data-live="live"]', 10_000);

    const started = Date.now();
    await addContact(a, aTab, { name: 'Wes WebKit', phone: '555-0301' });
    await b.waitFor(bTab, contactCss('Wes WebKit'), SYNC_WAIT_MS);
    console.log(`webkit: device B showed device A's contact after ${Date.now() - started} ms`);
    expect(await serverPhone(me, 'Wes WebKit')).toBe('555-0301');
  });

  it('two tabs share the replica: a write in one shows in the other at once, and stays after a reload', async () => {
    const me = user('tabby');
    const device = await WebKitDevice.launch('A');
    const first = await device.tab();
    await signIn(device, first, server.origin, me);
    const second = await device.tab({ newTab: true });
    await openApp(device, second, server.origin);
    expect(await replicaOf(device, second)).toEqual({ storage: 'indexeddb', isOwner: false });

    const started = Date.now();
    await addContact(device, first, { name: 'Tabitha WebKit', phone: '555-0401' });
    await device.waitFor(second, contactCss('Tabitha WebKit'), 3_000);
    console.log(`webkit: the other tab showed the write after ${Date.now() - started} ms`);
    await expect
      .poll(() => serverPhone(me, 'Tabitha WebKit'), { timeout: SYNC_WAIT_MS })
      .toBe('555-0401');

    await addContact(device, second, { name: 'Tobias WebKit', phone: '555-0402' });
    await device.waitFor(first, contactCss('Tobias WebKit'), 3_000);
    await device.waitFor(first, SYNCED, SYNC_WAIT_MS);
    await device.switchTo(second);
    await device.driver.navigate().refresh();
    await device.waitFor(second, '[data-ready="true"]');
    expect(await shownNames(device, second)).toEqual(['Tabitha WebKit', 'Tobias WebKit']);
    expect(await serverPhone(me, 'Tobias WebKit')).toBe('555-0402');
  });
});
