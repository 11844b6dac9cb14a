import { rm } from 'node:fs/promises';
import type { Generated } from 'kysely';
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
import type { PageApi, WireValue } from './page/main.ts';

declare global {
  var carburetor: PageApi;
}

interface NotesDb {
  notes: { id: Generated<number>; body: string };
}

let site: TestSite;
const profiles: string[] = [];

beforeAll(async () => {
  chromiumPath(); // fail first, and clearly, when there is no browser
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

async function reload(page: Page): Promise<void> {
  await page.reload();
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
}

/** Creates `notes` and writes two rows through kysely; answers where the data went. */
function writeNotes(page: Page) {
  return page.evaluate(async () => {
    const driver = carburetor.opfsDriver({ name: 'notes' });
    const db = carburetor.createReplicaKysely<NotesDb>(driver);
    await db.schema
      .createTable('notes')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('body', 'text', (c) => c.notNull())
      .execute();
    await db
      .insertInto('notes')
      .values([{ body: 'first' }, { body: `O'Brien – 🚀` }])
      .execute();
    return {
      storage: driver.storage,
      secureContext: isSecureContext,
      crossOriginIsolated,
    };
  });
}

function readNotes(page: Page) {
  return page.evaluate(async () => {
    const db = carburetor.createReplicaKysely<NotesDb>(carburetor.opfsDriver({ name: 'notes' }));
    return db.selectFrom('notes').selectAll().orderBy('id').execute();
  });
}

const NOTES = [
  { id: 1, body: 'first' },
  { id: 2, body: `O'Brien – 🚀` },
];

describe('opfsDriver in Chromium', () => {
  test('rows written through the driver are read back after a reload', async () => {
    const context = await launch(await profile());
    const page = await openPage(context, site.origin, 'reload');
    // Served without COOP/COEP: OPFSCoopSyncVFS needs no cross-origin isolation.
    expect(await writeNotes(page)).toEqual({
      storage: 'opfs',
      secureContext: true,
      crossOriginIsolated: false,
    });
    await reload(page);
    expect(await readNotes(page)).toEqual(NOTES);
  });

  test('rows survive closing the browser and launching it again on the same profile', async () => {
    const dir = await profile();
    const first = await launch(dir);
    await writeNotes(await openPage(first, site.origin, 'restart-before'));
    await first.close();
    const second = await launch(dir);
    expect(await readNotes(await openPage(second, site.origin, 'restart-after'))).toEqual(NOTES);
  });

  test('every value type round-trips, bigints beyond 2^53 and blobs included', async () => {
    const context = await launch(await profile());
    const page = await openPage(context, site.origin, 'values');
    const values: WireValue[] = [
      null,
      0,
      -1,
      2_147_483_647,
      2 ** 40,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      { $bigint: '9007199254740993' },
      { $bigint: '-9007199254740993' },
      { $bigint: '9223372036854775807' },
      { $bigint: '-9223372036854775808' },
      1.5,
      -0.000123,
      1e300,
      '',
      `it's "quoted" '' \\ ;--`,
      'Zoë – 日本語 – 🚀 – \u{1F469}\u{200D}\u{1F4BB}',
      { $bytes: [0, 1, 2, 254, 255] },
      { $bytes: [] },
      { $bytes: Array.from({ length: 20_000 }, (_, i) => i % 251) },
    ];
    const written = await page.evaluate(async (wire) => {
      const driver = carburetor.opfsDriver({ name: 'values' });
      await driver.execute('CREATE TABLE vals (id INTEGER PRIMARY KEY, v)');
      const decoded = wire.map(carburetor.decode);
      // Half one by one, half in a batch: both paths cross the worker boundary.
      const half = Math.ceil(decoded.length / 2);
      for (const [i, v] of decoded.slice(0, half).entries()) {
        await driver.execute('INSERT INTO vals (id, v) VALUES (?, ?)', [i, v]);
      }
      await driver.executeBatch(
        decoded.slice(half).map((v, i) => ({
          sql: 'INSERT INTO vals (id, v) VALUES (?, ?)',
          params: [half + i, v],
        })),
        { transaction: true },
      );
      const echo = await driver.execute(
        `SELECT ${decoded.map((_, i) => `? AS c${i}`).join(', ')}`,
        decoded,
      );
      return echo.columns.map((column) => carburetor.encode(echo.rows[0]?.[column] ?? null));
    }, values);
    expect(written).toEqual(values);

    await reload(page);
    const read = await page.evaluate(async () => {
      const driver = carburetor.opfsDriver({ name: 'values' });
      const { rows } = await driver.execute('SELECT v, typeof(v) AS type FROM vals ORDER BY id');
      return rows.map((row) => ({ v: carburetor.encode(row['v'] ?? null), type: row['type'] }));
    });
    expect(read.map((row) => row.v)).toEqual(values);
    expect(read.map((row) => row.type)).toEqual(
      values.map((v) =>
        v === null
          ? 'null'
          : typeof v === 'string'
            ? 'text'
            : typeof v === 'number'
              ? Number.isSafeInteger(v)
                ? 'integer'
                : 'real'
              : '$bigint' in v
                ? 'integer'
                : 'blob',
      ),
    );
  });

  test('a rolled-back transaction leaves nothing, in memory or on disk', async () => {
    const context = await launch(await profile());
    const page = await openPage(context, site.origin, 'rollback');
    const outcome = await page.evaluate(async () => {
      const driver = carburetor.opfsDriver({ name: 'rollback' });
      const db = carburetor.createReplicaKysely<NotesDb>(driver);
      await driver.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
      const kysely = await carburetor.failure(
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
      return { kysely, batch, count: rows[0]?.['n'] };
    });
    expect(outcome.kysely).toMatchObject({ message: 'boom' });
    expect(outcome.batch).toMatchObject({
      name: 'SqliteDriverError',
      code: 'sqlite',
      sqliteCode: 19,
      statementIndex: 2,
    });
    expect(outcome.batch?.message).toContain('UNIQUE constraint failed');
    expect(outcome.count).toBe(0);

    await reload(page);
    const after = await page.evaluate(async () => {
      const driver = carburetor.opfsDriver({ name: 'rollback' });
      await driver.execute('INSERT INTO notes (body) VALUES (?)', ['kept']);
      return (await driver.execute('SELECT body FROM notes')).rows;
    });
    expect(after).toEqual([{ body: 'kept' }]);
  });

  test('two opfsDriver calls for one name share one driver and one worker', async () => {
    const context = await launch(await profile());
    const page = await openPage(context, site.origin, 'shared');
    const shared = await page.evaluate(async () => {
      // What React StrictMode does: the same effect twice, both using the driver at once.
      const a = carburetor.opfsDriver({ name: 'shared' });
      const b = carburetor.opfsDriver({ name: 'shared' });
      await Promise.all([a.open(), b.open()]);
      await a.execute('CREATE TABLE t (x INTEGER)');
      await Promise.all([
        a.execute('INSERT INTO t VALUES (1)'),
        b.execute('INSERT INTO t VALUES (2)'),
        a.executeBatch([{ sql: 'INSERT INTO t VALUES (3)' }], { transaction: true }),
      ]);
      const mismatch = (() => {
        try {
          carburetor.opfsDriver({ name: 'shared', fallback: 'memory' });
          return null;
        } catch (error) {
          return carburetor.describeError(error);
        }
      })();
      const { rows } = await b.execute('SELECT count(*) AS n FROM t');
      return { same: a === b, count: rows[0]?.['n'], mismatch };
    });
    expect(shared).toMatchObject({ same: true, count: 3, mismatch: { code: 'invalid_parameter' } });
    expect(page.workers()).toHaveLength(1);

    // close() ends the worker; the name can be opened again at once.
    const reopened = await page.evaluate(async () => {
      const old = carburetor.opfsDriver({ name: 'shared' });
      await old.close();
      const afterClose = await carburetor.failure(old.execute('SELECT 1'));
      const again = carburetor.opfsDriver({ name: 'shared' });
      const { rows } = await again.execute('SELECT count(*) AS n FROM t');
      return { afterClose, fresh: again !== old, count: rows[0]?.['n'] };
    });
    expect(reopened).toMatchObject({ afterClose: { code: 'closed' }, fresh: true, count: 3 });
    await expect.poll(() => page.workers().length).toBe(1);

    await page.evaluate(() => carburetor.opfsDriver({ name: 'shared' }).close());
    await expect.poll(() => page.workers().length).toBe(0);
  });

  test('two tabs on one replica take turns instead of failing with "database is locked"', async () => {
    const context = await launch(await profile());
    const first = await openPage(context, site.origin, 'tab-1');
    const second = await openPage(await context.newPage(), site.origin, 'tab-2');
    await first.evaluate(() =>
      carburetor.opfsDriver({ name: 'tabs' }).execute('CREATE TABLE t (tab TEXT, n INTEGER)'),
    );
    const write = (page: Page, tab: string) =>
      page.evaluate(async (tab) => {
        const driver = carburetor.opfsDriver({ name: 'tabs' });
        for (let n = 0; n < 20; n++) {
          await driver.executeBatch(
            [
              { sql: 'INSERT INTO t VALUES (?, ?)', params: [tab, n] },
              { sql: 'INSERT INTO t VALUES (?, ?)', params: [tab, -n] },
            ],
            { transaction: true },
          );
        }
      }, tab);
    await Promise.all([write(first, 'a'), write(second, 'b')]);
    const counts = await second.evaluate(async () => {
      const driver = carburetor.opfsDriver({ name: 'tabs' });
      return (await driver.execute('SELECT tab, count(*) AS n FROM t GROUP BY tab ORDER BY tab'))
        .rows;
    });
    expect(counts).toEqual([
      { tab: 'a', n: 40 },
      { tab: 'b', n: 40 },
    ]);
  });

  test('without OPFS, open() says why and how to fall back; fallback "memory" works', async () => {
    // A non-loopback host name over http is not a secure context: no OPFS.
    const context = await launch(await profile(), [
      '--host-resolver-rules=MAP carburetor.test 127.0.0.1',
    ]);
    const page = await openPage(context, `http://carburetor.test:${site.port}/`, 'insecure');
    const outcome = await page.evaluate(async () => {
      const strict = carburetor.opfsDriver({ name: 'insecure' });
      const failure = await carburetor.failure(strict.open());
      await strict.close();
      const lenient = carburetor.opfsDriver({ name: 'insecure', fallback: 'memory' });
      await lenient.execute('CREATE TABLE t (x)');
      await lenient.execute('INSERT INTO t VALUES (?)', [42]);
      const { rows } = await lenient.execute('SELECT x FROM t');
      return { secure: isSecureContext, failure, storage: lenient.storage, rows };
    });
    expect(outcome).toMatchObject({
      secure: false,
      failure: { name: 'SqliteDriverError', code: 'unsupported' },
      storage: 'memory',
      rows: [{ x: 42 }],
    });
    expect(outcome.failure?.message).toContain('not a secure context');
    expect(outcome.failure?.message).toContain("fallback: 'memory'");
  });

  test('works from the Vite dev server (optimizeDeps.exclude, no reload on the first worker start)', async () => {
    const dev = await startDevSite();
    try {
      const context = await launch(await profile());
      const page = await openPage(context, dev.origin, 'vite-dev');
      const loads: string[] = [];
      page.on('load', () => loads.push(page.url()));
      const opened = await page.evaluate(async () => {
        const driver = carburetor.opfsDriver({ name: 'dev' });
        const { rows } = await driver.execute('SELECT sqlite_version() AS version');
        return { storage: driver.storage, version: rows[0]?.['version'] };
      });
      expect(opened).toMatchObject({ storage: 'opfs', version: expect.stringMatching(/^3\./) });
      expect(loads).toEqual([]);
    } finally {
      await dev.close();
    }
  });

  test('100k rows: driver batch vs raw wa-sqlite inserts in the same worker (timing print)', async () => {
    const context = await launch(await profile());
    const page = await openPage(context, site.origin, 'timing');
    const timing = await page.evaluate(async () => {
      const count = 100_000;
      const rows = Array.from({ length: count }, (_, i) => [i, `name ${i}`, i * 0.5]);
      const driver = carburetor.opfsDriver({ name: 'timing' });
      await driver.execute('CREATE TABLE raw (id INTEGER PRIMARY KEY, name TEXT, score REAL)');
      await driver.execute(
        'CREATE TABLE viaDriver (id INTEGER PRIMARY KEY, name TEXT, score REAL)',
      );
      const rawMs = await carburetor.measureRawInserts(
        driver,
        'INSERT INTO raw VALUES (?, ?, ?)',
        rows,
      );
      const start = performance.now();
      await driver.executeBatch(
        rows.map((params) => ({ sql: 'INSERT INTO viaDriver VALUES (?, ?, ?)', params })),
        { transaction: true },
      );
      const driverMs = performance.now() - start;
      const { rows: counted } = await driver.execute(
        'SELECT (SELECT count(*) FROM raw) AS raw, (SELECT count(*) FROM viaDriver) AS driver',
      );
      return { rawMs, driverMs, counted: counted[0] };
    });
    expect(timing.counted).toEqual({ raw: 100_000, driver: 100_000 });
    console.log(
      `100k inserts into OPFS, one transaction: raw wa-sqlite in the worker ${timing.rawMs.toFixed(0)} ms; ` +
        `driver.executeBatch from the page ${timing.driverMs.toFixed(0)} ms (${(timing.driverMs / timing.rawMs).toFixed(2)}x raw)`,
    );
  });
});
