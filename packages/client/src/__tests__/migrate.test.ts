import { defineSyncConfig, integer, table, text } from '@carburetor/core';
import { afterEach, describe, expect, test } from 'vitest';
import { type MemoryDriver, memoryDriver } from '../node/index.ts';
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
