import { defineSyncConfig, integer, table, text } from '@carburetor/core';
import { afterEach, describe, expect, test } from 'vitest';
import { deleteMemoryStore, type MemoryDriver, memoryDriver } from '../node/index.ts';
import { migrateClient } from '../schema/migrate.ts';
import { phoneBookConfig } from './fixtures.ts';

const drivers: MemoryDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close().catch(() => undefined);
});

function driver() {
  const d = memoryDriver();
  drivers.push(d);
  return d;
}

async function columns(d: MemoryDriver, tableName: string) {
  const result = await d.execute(
    `SELECT name, type, "notnull" AS nn, dflt_value AS def, pk FROM pragma_table_info(?)`,
    [tableName],
  );
  return Object.fromEntries(result.rows.map((r) => [r['name'], r]));
}

const v1 = defineSyncConfig({
  tables: { task: table({ title: text(), rank: integer() }) },
  syncGroups: { tasks: { task: true } },
});

describe('migrateClient', () => {
  test('creates the tables with storage types, special columns and bookkeeping, idempotently', async () => {
    const d = driver();
    await migrateClient(d, phoneBookConfig);
    await migrateClient(d, phoneBookConfig);
    const cols = await columns(d, 'phone_books');
    expect(cols['id']).toMatchObject({ type: 'TEXT', pk: 1 });
    expect(cols['published']).toMatchObject({ type: 'INTEGER', nn: 1, def: '0' });
    expect(cols['note']).toMatchObject({ type: 'TEXT', nn: 0 });
    expect(cols['record_deleted']).toMatchObject({ type: 'INTEGER', nn: 1, def: '0' });
    expect(cols['updated_at']).toMatchObject({ type: 'TEXT', nn: 0 });
    expect(cols['sync_metadata']).toMatchObject({ type: 'TEXT', nn: 1, def: "'{}'" });
    expect(cols['dirty_flag']).toMatchObject({ type: 'TEXT', nn: 0 });
    expect(await columns(d, 'notes')).toHaveProperty('tags.def', `'[]'`);
    const tables = await d.execute(
      `SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name LIKE '%carburetor%' ORDER BY name`,
    );
    expect(tables.rows.map((r) => r['name'])).toEqual([
      '_carburetor_cursors',
      '_carburetor_rejected',
      '_carburetor_seen',
      '_carburetor_state',
      'notes_carburetor_dirty_idx',
      'phone_books_carburetor_dirty_idx',
      'sqlite_autoindex__carburetor_cursors_1',
      'sqlite_autoindex__carburetor_rejected_1',
      'sqlite_autoindex__carburetor_seen_1',
      'sqlite_autoindex__carburetor_state_1',
    ]);
  });

  test('adds tables and columns, relaxes nullability by a rebuild, keeps the rows', async () => {
    const d = driver();
    await migrateClient(d, v1);
    await d.execute(`INSERT INTO tasks (id, title, rank) VALUES ('a', 'one', 1)`);
    // A crash in an older engine could leave the rebuild table behind.
    await d.execute(`CREATE TABLE _carburetor_rebuild_tasks (x TEXT)`);
    const v2 = defineSyncConfig({
      tables: {
        task: table({
          title: text().nullable(),
          rank: integer(),
          note: text().nullable(),
          size: integer().default(3),
          must: text(),
        }),
        tag: table({ label: text() }),
      },
      syncGroups: { tasks: { task: true, tag: true } },
    });
    await expect(migrateClient(d, v2)).rejects.toMatchObject({
      code: 'schema_mismatch',
      message: expect.stringContaining('must'),
    });
    const v3 = defineSyncConfig({
      tables: {
        task: table({
          title: text().nullable(),
          rank: integer(),
          note: text().nullable(),
          size: integer().default(3),
        }),
        tag: table({ label: text() }),
      },
      syncGroups: { tasks: { task: true, tag: true } },
    });
    await migrateClient(d, v3);
    await migrateClient(d, v3);
    const cols = await columns(d, 'tasks');
    expect(cols['title']).toMatchObject({ nn: 0 });
    expect(cols['size']).toMatchObject({ nn: 1, def: '3' });
    const rows = await d.execute('SELECT id, title, rank, note, size FROM tasks');
    expect(rows.rows).toEqual([{ id: 'a', title: 'one', rank: 1, note: null, size: 3 }]);
    expect((await columns(d, 'tags'))['label']).toBeDefined();
    const stale = await d.execute(
      `SELECT count(*) AS n FROM sqlite_master WHERE name = '_carburetor_rebuild_tasks'`,
    );
    expect(stale.rows[0]!['n']).toBe(0);
    const index = await d.execute(
      `SELECT count(*) AS n FROM sqlite_master WHERE name = 'tasks_carburetor_dirty_idx'`,
    );
    expect(index.rows[0]!['n']).toBe(1);
  });

  test('refuses a type change, naming table, column, expected and found', async () => {
    const d = driver();
    await migrateClient(d, v1);
    const changed = defineSyncConfig({
      tables: { task: table({ title: text(), rank: text() }) },
      syncGroups: { tasks: { task: true } },
    });
    const error = await migrateClient(d, changed).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'schema_mismatch', table: 'task', column: 'rank' });
    expect((error as Error).message).toMatch(
      /"tasks" column "rank" is INTEGER but the config needs TEXT/,
    );
  });
});

describe('a required column the config no longer declares', () => {
  const withLegacy = defineSyncConfig({
    tables: { task: table({ title: text(), legacy: text(), kept: integer().default(1) }) },
    syncGroups: { tasks: { task: true } },
  });
  const withoutLegacy = defineSyncConfig({
    tables: { task: table({ title: text() }) },
    syncGroups: { tasks: { task: true } },
  });
  const backAsNullable = defineSyncConfig({
    tables: { task: table({ title: text(), legacy: text().nullable() }) },
    syncGroups: { tasks: { task: true } },
  });

  test('stays, nullable, so inserts work; a later config may declare it again as nullable', async () => {
    const d = driver();
    await migrateClient(d, withLegacy);
    await d.execute(`INSERT INTO tasks (id, title, legacy) VALUES ('a', 'one', 'old')`);
    await migrateClient(d, withoutLegacy);
    await migrateClient(d, withoutLegacy);
    const cols = await columns(d, 'tasks');
    expect(cols['legacy']).toMatchObject({ type: 'TEXT', nn: 0 });
    // Every undeclared column is rebuilt nullable; its default stays.
    expect(cols['kept']).toMatchObject({ type: 'INTEGER', nn: 0, def: '1' });
    await d.execute(`INSERT INTO tasks (id, title) VALUES ('b', 'two')`);
    expect((await d.execute('SELECT id, title, legacy, kept FROM tasks ORDER BY id')).rows).toEqual(
      [
        { id: 'a', title: 'one', legacy: 'old', kept: 1 },
        { id: 'b', title: 'two', legacy: null, kept: 1 },
      ],
    );
    await migrateClient(d, backAsNullable);
    expect((await columns(d, 'tasks'))['legacy']).toMatchObject({ nn: 0 });
    // Required again is a tightening, which a replica refuses (as the server does).
    await expect(migrateClient(d, withLegacy)).rejects.toMatchObject({
      code: 'schema_mismatch',
      column: 'legacy',
    });
  });

  test('a crash at any file write of that migration leaves the old schema or the new one, never a table without its rows', async () => {
    const base = 'migrate-drop-required-base';
    const seed = memoryDriver({ name: base });
    await migrateClient(seed, withLegacy);
    for (let i = 0; i < 20; i++) {
      await seed.execute(`INSERT INTO tasks (id, title, legacy) VALUES (?, ?, ?)`, [
        `t${i}`,
        `title ${i}`,
        `legacy ${i}`,
      ]);
    }
    await seed.close();
    const expected = Array.from({ length: 20 }, (_, i) => ({
      id: `t${i}`,
      title: `title ${i}`,
      legacy: `legacy ${i}`,
    })).sort((a, b) => (a.id < b.id ? -1 : 1));
    const seen = { crashes: 0, old: 0, migrated: 0 };
    let completedAt: number | undefined;
    for (let writes = 1; writes < 200 && completedAt === undefined; writes++) {
      const store = `migrate-drop-required-${writes}`;
      const source = memoryDriver({ name: base });
      await source.execute(`VACUUM INTO '/${store}'`);
      await source.close();
      const crashy = memoryDriver({ name: store, crashAfterWrites: writes });
      try {
        await migrateClient(crashy, withoutLegacy);
        completedAt = writes;
        await crashy.close();
      } catch (error) {
        if (!crashy.crashed) throw error;
        seen.crashes++;
      }
      const reopened = memoryDriver({ name: store });
      const legacy = (await columns(reopened, 'tasks'))['legacy'];
      if (legacy?.['nn'] === 1) seen.old++;
      else seen.migrated++;
      expect(legacy).toMatchObject({ type: 'TEXT' });
      const rows = await reopened.execute('SELECT id, title, legacy FROM tasks ORDER BY id');
      expect(rows.rows).toEqual(expected);
      expect((await reopened.execute('PRAGMA integrity_check')).rows).toEqual([
        { integrity_check: 'ok' },
      ]);
      // Migrating again completes, and inserts work.
      await migrateClient(reopened, withoutLegacy);
      expect((await columns(reopened, 'tasks'))['legacy']).toMatchObject({ nn: 0 });
      await reopened.execute(`INSERT INTO tasks (id, title) VALUES ('new', 'new')`);
      const stale = await reopened.execute(
        `SELECT count(*) AS n FROM sqlite_master WHERE name LIKE '_carburetor_rebuild_%'`,
      );
      expect(stale.rows[0]!['n']).toBe(0);
      await reopened.close();
      deleteMemoryStore(store);
    }
    deleteMemoryStore(base);
    expect(completedAt, 'the sweep reached a migration that completes').toBeDefined();
    expect(seen.crashes).toBeGreaterThan(0);
    expect(seen.old).toBeGreaterThan(0);
    console.info(
      `migration crash sweep: a crash after each of ${completedAt! - 1} file writes`,
      seen,
    );
  });
});
