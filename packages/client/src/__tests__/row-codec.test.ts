import type { ResolvedTable } from '@carburetor/core';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
import { readRows, type StoredRow, sortsBefore, upsertStatements } from '../replica/row-codec.ts';
import { migrateClient } from '../schema/migrate.ts';
import { kindsConfig } from './fixtures.ts';

const item = kindsConfig.tables.item as ResolvedTable;

const drivers: MemoryDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close().catch(() => undefined);
});

async function replica(): Promise<MemoryDriver> {
  const driver = memoryDriver();
  drivers.push(driver);
  await migrateClient(driver, kindsConfig);
  return driver;
}

const idOf = (n: number) => `id-${String(n).padStart(6, '0')}`;

function stored(n: number, label = `label ${n}`): StoredRow {
  return {
    id: idOf(n),
    values: {
      label,
      done: n % 2 === 0,
      count: n,
      views: String(n),
      data: { tags: [`t${n}`] },
      blob: new Uint8Array([n % 256]),
      due: null,
      is_deleted: false,
      last_synced_at: null,
    },
    metadata: { label: { t: 1000 + n, c: 'dev-a' } },
    dirty: null,
  };
}

describe('upsertStatements', () => {
  test.each([0, 1, 7, 64, 65, 200])('writes %i rows, several rows a statement', async (count) => {
    const driver = await replica();
    const rows = Array.from({ length: count }, (_, n) => stored(n));
    const statements = upsertStatements(item, rows);
    expect(new Set(statements.map((s) => s.sql)).size).toBeLessThanOrEqual(8);
    // Tables this wide take 64 rows a statement; the rest goes in halving statements.
    expect(statements.length).toBeLessThanOrEqual(Math.ceil(count / 64) + 6);
    await driver.executeBatch(statements, { transaction: true });
    const read = await readRows(
      driver,
      item,
      rows.map((r) => r.id),
    );
    expect([...read.values()].sort((a, b) => a.id.localeCompare(b.id))).toEqual(rows);
  });

  test('replaces the columns Carburetor owns of rows already held', async () => {
    const driver = await replica();
    await driver.executeBatch(upsertStatements(item, [stored(1), stored(2)]));
    await driver.executeBatch(upsertStatements(item, [stored(2, 'two'), stored(3)]));
    const read = await readRows(driver, item, [idOf(1), idOf(2), idOf(3)]);
    expect(read.get(idOf(1))).toEqual(stored(1));
    expect(read.get(idOf(2))).toEqual(stored(2, 'two'));
    expect(read.get(idOf(3))).toEqual(stored(3));
  });
});

describe('readRows', () => {
  test.each([1, 9, 600, 5000])(
    'finds the held rows among %i ids, wherever they lie',
    async (count) => {
      const driver = await replica();
      // Held: every third id, and one id below and one above the ids asked for.
      const held = [-1, count + 1];
      for (let n = 0; n < count; n += 3) held.push(n);
      await driver.executeBatch(
        upsertStatements(
          item,
          held.map((n) => stored(n)),
        ),
        { transaction: true },
      );
      const ids = Array.from({ length: count }, (_, n) => idOf(n)).reverse();
      const read = await readRows(driver, item, ids);
      expect([...read.keys()].sort()).toEqual(held.filter((n) => n >= 0 && n < count).map(idOf));
    },
  );

  test('finds the one held row among ids of any characters, the greatest or least of them included', async () => {
    const driver = await replica();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(id, { minLength: 9, maxLength: 30 }),
        fc.nat(),
        async (ids, pick) => {
          const held = ids[pick % ids.length]!;
          await driver.executeBatch(
            [{ sql: 'DELETE FROM items' }, ...upsertStatements(item, [{ ...stored(0), id: held }])],
            { transaction: true },
          );
          expect([...(await readRows(driver, item, ids)).keys()]).toEqual([held]);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('finds nothing when no held id lies between the ids asked for', async () => {
    const driver = await replica();
    await driver.executeBatch(upsertStatements(item, [stored(0), stored(999)]));
    const ids = Array.from({ length: 100 }, (_, n) => idOf(n + 1));
    expect((await readRows(driver, item, ids)).size).toBe(0);
  });
});

/**
 * Strings that tell UTF-16 order from UTF-8 order: characters on both sides of
 * U+E000 and U+FFFF. No NUL: ids cannot hold one (core refuses it; SQLite's
 * text binding would cut the string there).
 */
const id = fc.string({
  unit: fc.oneof(
    fc.constantFrom('a', 'b', '\uD7FF', '\uE000', '\uFFFF', '😀', '𝄞'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\u0000'),
  ),
});

describe('sortsBefore', () => {
  test('orders ids as SQLite does', async () => {
    const driver = await replica();
    await fc.assert(
      fc.asyncProperty(id, id, async (a, b) => {
        const result = await driver.execute('SELECT ? < ? AS lt, ? > ? AS gt', [a, b, a, b]);
        const row = result.rows[0]!;
        expect(sortsBefore(a, b)).toBe(row['lt'] === 1);
        expect(sortsBefore(b, a)).toBe(row['gt'] === 1);
      }),
      { numRuns: 300 },
    );
  });
});
