// The IndexedDB fallback, in Chromium with OPFS switched off: what a browser
// without usable OPFS access handles (WebKitGTK) gets. The same cases run in
// WebKitGTK itself in webkit.test.ts.
import { rm } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  chromiumPath,
  freshProfile,
  launch,
  openPage,
  startDevSite,
  startTestSite,
  type TestSite,
} from './harness.ts';
import type { PageApi } from './page/main.ts';

declare global {
  var carburetor: PageApi;
}

/** Chromium without the Origin Private File System (navigator.storage.getDirectory is gone). */
const NO_OPFS = ['--disable-blink-features=FileSystemAccessOriginPrivate'];

let site: TestSite;
const profiles: string[] = [];

beforeAll(async () => {
  chromiumPath();
  site = await startTestSite();
});

afterAll(async () => {
  await site?.close();
  for (const dir of profiles) await rm(dir, { recursive: true, force: true });
});

async function profile(): Promise<string> {
  const dir = await freshProfile();
  profiles.push(dir);
  return dir;
}

/** Writes two rows to the replica `fallback` with `fallback: 'indexeddb'`; answers where they went. */
function writeRows(page: Page) {
  return page.evaluate(async () => {
    const driver = carburetor.opfsDriver({ name: 'fallback', fallback: 'indexeddb' });
    await driver.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    await driver.executeBatch(
      [
        { sql: 'INSERT INTO t (body) VALUES (?)', params: ['first'] },
        { sql: 'INSERT INTO t (body) VALUES (?)', params: [`O'Brien – 🚀`] },
      ],
      { transaction: true },
    );
    return { storage: driver.storage, isOwner: driver.isOwner };
  });
}

function readRows(page: Page) {
  return page.evaluate(async () => {
    const driver = carburetor.opfsDriver({ name: 'fallback', fallback: 'indexeddb' });
    const { rows } = await driver.execute('SELECT id, body FROM t ORDER BY id');
    return { storage: driver.storage, rows };
  });
}

const ROWS = [
  { id: 1, body: 'first' },
  { id: 2, body: `O'Brien – 🚀` },
];

describe('opfsDriver without OPFS, in Chromium', () => {
  test('open() says OPFS is missing and names both fallbacks', async () => {
    const context = await launch(await profile(), NO_OPFS);
    const page = await openPage(context, site.origin, 'no-opfs-strict');
    const failure = await page.evaluate(async () => {
      const driver = carburetor.opfsDriver({ name: 'strict' });
      try {
        return await carburetor.failure(driver.open());
      } finally {
        await driver.close();
      }
    });
    expect(failure).toMatchObject({ name: 'SqliteDriverError', code: 'unsupported' });
    expect(failure?.message).toContain('no Origin Private File System');
    expect(failure?.message).toContain("fallback: 'indexeddb'");
  });

  test("fallback 'indexeddb': rows survive a reload and a browser restart", async () => {
    const dir = await profile();
    const first = await launch(dir, NO_OPFS);
    const page = await openPage(first, site.origin, 'idb-write');
    expect(await writeRows(page)).toEqual({ storage: 'indexeddb', isOwner: true });
    await page.reload();
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
    expect(await readRows(page)).toEqual({ storage: 'indexeddb', rows: ROWS });
    await first.close();

    const second = await launch(dir, NO_OPFS);
    expect(await readRows(await openPage(second, site.origin, 'idb-restart'))).toEqual({
      storage: 'indexeddb',
      rows: ROWS,
    });
  });

  test("fallback 'indexeddb': two tabs share one replica, and the second takes over when the first closes", async () => {
    const context = await launch(await profile(), NO_OPFS);
    const first = await openPage(context, site.origin, 'idb-tab-1');
    const second = await openPage(await context.newPage(), site.origin, 'idb-tab-2');
    expect(await writeRows(first)).toEqual({ storage: 'indexeddb', isOwner: true });
    const seen = await second.evaluate(async () => {
      const driver = carburetor.opfsDriver({ name: 'fallback', fallback: 'indexeddb' });
      await driver.execute('INSERT INTO t (body) VALUES (?)', ['from tab 2']);
      const { rows } = await driver.execute('SELECT count(*) AS n FROM t');
      return { isOwner: driver.isOwner, storage: driver.storage, count: rows[0]?.['n'] };
    });
    expect(seen).toEqual({ isOwner: false, storage: 'indexeddb', count: 3 });

    await first.close();
    await second.waitForFunction(
      () => carburetor.opfsDriver({ name: 'fallback', fallback: 'indexeddb' }).isOwner,
    );
    const after = await readRows(second);
    expect(after.rows.map((row) => row['body'])).toEqual(['first', `O'Brien – 🚀`, 'from tab 2']);
  });

  test("fallback 'indexeddb' from the Vite dev server: the worker loads wa-sqlite's async build on demand", async () => {
    const dev = await startDevSite();
    try {
      const context = await launch(await profile(), NO_OPFS);
      const page = await openPage(context, dev.origin, 'idb-vite-dev');
      const opened = await page.evaluate(async () => {
        const driver = carburetor.opfsDriver({ name: 'dev', fallback: 'indexeddb' });
        const { rows } = await driver.execute('SELECT sqlite_version() AS version');
        return { storage: driver.storage, version: rows[0]?.['version'] };
      });
      expect(opened).toMatchObject({
        storage: 'indexeddb',
        version: expect.stringMatching(/^3\./),
      });
    } finally {
      await dev.close();
    }
  });
});
