// The browser driver in WebKitGTK (MiniBrowser 2.50 through WebKitWebDriver,
// under Xvfb). WebKitGTK refuses OPFS access handles, so the replica lives
// in IndexedDB ('indexeddb' fallback); Web Locks, BroadcastChannel and
// module workers work, so tabs share it as in Chromium. A WebDriver session
// has ephemeral storage, so the restart case starts MiniBrowser without
// WebDriver, twice on one data directory, and the page reports over HTTP.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchMiniBrowser } from '@carburetor/testing/webkit';
import type { Generated } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PageApi, Session } from './page/main.ts';
import { startTestSite } from './site.ts';
import { type SyncSite, startSyncSite } from './sync-server.ts';
import { startWebKitDriver, WebKitBrowser, type WebKitDriverServer } from './webkit-browser.ts';

declare global {
  var carburetor: PageApi;
  var session: Session;
}

interface NotesDb {
  notes: { id: Generated<number>; body: string };
}

let driverServer: WebKitDriverServer;
let site: SyncSite;

beforeAll(async () => {
  // Fails first, and says how to install WebKitGTK, when it is missing.
  driverServer = await startWebKitDriver();
  site = await startSyncSite('browser_webkit');
});

afterAll(async () => {
  await site?.close();
  await driverServer?.stop();
});

describe('opfsDriver in WebKitGTK', () => {
  test("OPFS is refused; without a fallback open() says so, with 'indexeddb' rows survive a reload", async () => {
    const browser = await WebKitBrowser.launch(driverServer);
    const tab = await browser.open(site.origin, 'webkit-reload');
    const strict = await browser.run(tab, async () => {
      const driver = carburetor.opfsDriver({ name: 'strict' });
      try {
        return await carburetor.failure(driver.open());
      } finally {
        await driver.close();
      }
    });
    expect(strict).toMatchObject({ name: 'SqliteDriverError', code: 'unsupported' });
    expect(strict?.message).toContain('OPFS');
    expect(strict?.message).toContain("fallback: 'indexeddb'");

    const written = await browser.run(tab, async () => {
      const driver = carburetor.opfsDriver({ name: 'notes', fallback: 'indexeddb' });
      await driver.execute(
        'CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, big INTEGER, b BLOB)',
      );
      await driver.executeBatch(
        [
          { sql: 'INSERT INTO t (body, big, b) VALUES (?, ?, ?)', params: ['first', 1, null] },
          {
            sql: 'INSERT INTO t (body, big, b) VALUES (?, ?, ?)',
            params: [`O'Brien – 🚀`, 2n ** 62n, new Uint8Array([0, 255, 7])],
          },
        ],
        { transaction: true },
      );
      return { storage: driver.storage, isOwner: driver.isOwner };
    });
    expect(written).toEqual({ storage: 'indexeddb', isOwner: true });

    await browser.reload(tab);
    const read = await browser.run(tab, async () => {
      const driver = carburetor.opfsDriver({ name: 'notes', fallback: 'indexeddb' });
      const { rows } = await driver.execute('SELECT id, body, big, b FROM t ORDER BY id');
      return { storage: driver.storage, rows: rows.map(carburetor.encodeRow) };
    });
    expect(read).toEqual({
      storage: 'indexeddb',
      rows: [
        { id: 1, body: 'first', big: 1, b: null },
        {
          id: 2,
          body: `O'Brien – 🚀`,
          big: { $bigint: (2n ** 62n).toString() },
          b: { $bytes: [0, 255, 7] },
        },
      ],
    });
  });

  test('a rolled-back transaction leaves nothing, in memory or in IndexedDB', async () => {
    const browser = await WebKitBrowser.launch(driverServer);
    const tab = await browser.open(site.origin, 'webkit-rollback');
    const outcome = await browser.run(tab, async () => {
      const driver = carburetor.opfsDriver({ name: 'rollback', fallback: 'indexeddb' });
      await driver.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
      const db = carburetor.createReplicaKysely<NotesDb>(driver);
      const section = await carburetor.failure(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('notes').values({ body: 'lost' }).execute();
          throw new Error('boom');
        }),
      );
      const batch = await carburetor.failure(
        driver.executeBatch(
          [
            { sql: 'INSERT INTO notes (id, body) VALUES (?, ?)', params: [10, 'a'] },
            { sql: 'INSERT INTO notes (id, body) VALUES (?, ?)', params: [11, 'b'] },
            { sql: 'INSERT INTO notes (id, body) VALUES (?, ?)', params: [10, 'duplicate'] },
          ],
          { transaction: true },
        ),
      );
      const { rows } = await driver.execute('SELECT count(*) AS n FROM notes');
      return { storage: driver.storage, section, batch, count: rows[0]?.['n'] };
    });
    expect(outcome).toMatchObject({
      storage: 'indexeddb',
      section: { message: 'boom' },
      batch: { name: 'SqliteDriverError', code: 'sqlite', sqliteCode: 19, statementIndex: 2 },
      count: 0,
    });

    await browser.reload(tab);
    const after = await browser.run(tab, async () => {
      const driver = carburetor.opfsDriver({ name: 'rollback', fallback: 'indexeddb' });
      await driver.execute('INSERT INTO notes (body) VALUES (?)', ['kept']);
      return (await driver.execute('SELECT body FROM notes')).rows;
    });
    expect(after).toEqual([{ body: 'kept' }]);
  });

  test('two tabs share one replica; when the owner tab closes, the other takes over', async () => {
    const browser = await WebKitBrowser.launch(driverServer);
    const first = await browser.open(site.origin, 'webkit-tab-1');
    const second = await browser.open(site.origin, 'webkit-tab-2', { newTab: true });
    expect(
      await browser.run(first, async () => {
        const driver = carburetor.opfsDriver({ name: 'tabs', fallback: 'indexeddb' });
        await driver.execute('CREATE TABLE t (tab TEXT)');
        await driver.execute("INSERT INTO t VALUES ('a')");
        return driver.isOwner;
      }),
    ).toBe(true);
    const seen = await browser.run(second, async () => {
      const driver = carburetor.opfsDriver({ name: 'tabs', fallback: 'indexeddb' });
      await driver.execute("INSERT INTO t VALUES ('b')");
      const { rows } = await driver.execute('SELECT tab FROM t ORDER BY tab');
      return { isOwner: driver.isOwner, storage: driver.storage, rows };
    });
    expect(seen).toEqual({
      isOwner: false,
      storage: 'indexeddb',
      rows: [{ tab: 'a' }, { tab: 'b' }],
    });

    await browser.close(first);
    await browser.waitFor(
      second,
      () => carburetor.opfsDriver({ name: 'tabs', fallback: 'indexeddb' }).isOwner,
    );
    const after = await browser.run(second, async () => {
      const driver = carburetor.opfsDriver({ name: 'tabs', fallback: 'indexeddb' });
      await driver.execute("INSERT INTO t VALUES ('c')");
      return (await driver.execute('SELECT tab FROM t ORDER BY tab')).rows;
    });
    expect(after).toEqual([{ tab: 'a' }, { tab: 'b' }, { tab: 'c' }]);
  });

  test("sync: a write in the other tab reaches the server through the owner's loop; both tabs list it", async () => {
    const browser = await WebKitBrowser.launch(driverServer);
    const open = (label: string, newTab: boolean) =>
      browser.open(site.origin, label, { newTab }).then(async (tab) => {
        await browser.run(
          tab,
          (options) =>
            carburetor.openClient({
              ...options,
              fallback: 'indexeddb',
              start: { intervalMs: 60_000, debounceMs: 50 },
            }),
          { name: 'synced', user: 'u-webkit', tab: label },
        );
        return tab;
      });
    const first = await open('webkit-sync-a', false);
    const second = await open('webkit-sync-b', true);
    expect(await browser.run(first, () => session.driver.isOwner)).toBe(true);
    expect(await browser.run(second, () => session.driver.storage)).toBe('indexeddb');

    await browser.run(second, async () => {
      await session.client.insertPhoneBook({
        owner_id: session.user,
        name: 'Ada (from WebKit)',
        phone_number: '555',
      });
    });
    await expect
      .poll(() => site.serverNames('u-webkit'), { timeout: 10_000 })
      .toEqual(['Ada (from WebKit)']);
    // Only the owner syncs; the acknowledgement reaches the other tab's status.
    expect(site.requests.filter((r) => r.tab === 'webkit-sync-b')).toEqual([]);
    await browser.waitFor(second, () => session.client.status.pendingCount === 0);
    const names = () =>
      session.client
        .activePhoneBooks()
        .select('name')
        .orderBy('name')
        .execute()
        .then((rows) => rows.map((row) => row.name));
    expect(await browser.run(first, names)).toEqual(['Ada (from WebKit)']);
    expect(await browser.run(second, names)).toEqual(['Ada (from WebKit)']);
  });

  test('rows survive quitting WebKitGTK and starting it again on the same data', async () => {
    const reports: unknown[] = [];
    let reported: () => void = () => undefined;
    const reportSite = await startTestSite((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        reports.push(JSON.parse(body));
        response.writeHead(204).end();
        reported();
      });
    });
    const dataDir = await mkdtemp(join(tmpdir(), 'carburetor-webkit-data-'));
    const runStep = async (step: 'write' | 'read') => {
      const done = new Promise<void>((resolve) => {
        reported = resolve;
      });
      const browser = launchMiniBrowser(`${reportSite.origin}/?step=${step}`, dataDir);
      try {
        await Promise.race([
          done,
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error(`MiniBrowser did not report step ${step}`)), 20_000),
          ),
        ]);
      } finally {
        await browser.stop();
      }
    };
    try {
      await runStep('write');
      await runStep('read');
    } finally {
      await reportSite.close();
      await rm(dataDir, { recursive: true, force: true });
    }
    const rows = [
      { id: 1, body: 'first' },
      { id: 2, body: `O'Brien – 🚀` },
    ];
    expect(reports).toEqual([
      { step: 'write', storage: 'indexeddb', rows },
      { step: 'read', storage: 'indexeddb', rows },
    ]);
  });
});
