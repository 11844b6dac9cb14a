import { describe, expect, test } from 'vitest';
import {
  boolean,
  type ConfigChangeKind,
  compareConfigs,
  configDefinition,
  configIdentity,
  defineSyncConfig,
  definitionIdentity,
  integer,
  servesOlder,
  table,
  text,
} from '../index.ts';

// Untyped entry point: each test builds a variant of one base config.
type Columns = Record<string, unknown>;
type Groups = Record<string, unknown>;
const define = (tables: Record<string, Columns>, groups: Groups) =>
  defineSyncConfig({
    tables: Object.fromEntries(
      Object.entries(tables).map(([key, columns]) => [key, table({}, columns as never)]),
    ),
    syncGroups: groups,
  } as unknown as Parameters<typeof defineSyncConfig>[0]);

const baseColumns = (): Columns => ({
  owner_id: text().immutable(),
  name: text(),
  note: text().nullable(),
  archived: boolean().default(false),
});
const baseGroups = (): Groups => ({
  mine: {
    todo: { restrictTo: { column: 'owner_id', context: 'userId' }, filter: { archived: false } },
  },
});
const base = define({ todo: baseColumns() }, baseGroups());

function kindsFrom(to: ReturnType<typeof define>): ConfigChangeKind[] {
  return compareConfigs(configDefinition(base), configDefinition(to)).map((c) => c.kind);
}

describe('config identity', () => {
  test('the same config gives the same identity, whatever the key order', () => {
    const { owner_id, name, note, archived } = baseColumns();
    const reordered = define({ todo: { note, archived, name, owner_id } }, baseGroups());
    expect(configIdentity(reordered)).toBe(configIdentity(base));
    expect(configIdentity(base)).toMatch(/^[0-9a-f]{16}$/);
  });

  test('a stored definition (JSON round trip) keeps its identity', () => {
    const stored = JSON.parse(JSON.stringify(configDefinition(base)));
    expect(definitionIdentity(stored)).toBe(configIdentity(base));
  });

  test('any change that matters to the wire gives another identity', () => {
    const withColumn = define({ todo: { ...baseColumns(), due: text().nullable() } }, baseGroups());
    expect(configIdentity(withColumn)).not.toBe(configIdentity(base));
  });
});

describe('compareConfigs classifies each kind of change', () => {
  test('the same definition: no change', () => {
    expect(kindsFrom(define({ todo: baseColumns() }, baseGroups()))).toEqual([]);
  });

  const cases: [string, () => ReturnType<typeof define>, ConfigChangeKind, boolean][] = [
    [
      'a nullable column added',
      () => define({ todo: { ...baseColumns(), due: text().nullable() } }, baseGroups()),
      'column_added',
      true,
    ],
    [
      'a column with a default added',
      () => define({ todo: { ...baseColumns(), rank: integer().default(0) } }, baseGroups()),
      'column_added',
      true,
    ],
    [
      'a required column without default added',
      () => define({ todo: { ...baseColumns(), rank: integer() } }, baseGroups()),
      'column_added_required',
      false,
    ],
    [
      'a table added',
      () => define({ todo: baseColumns(), tag: { label: text() } }, baseGroups()),
      'table_added',
      true,
    ],
    [
      'a group added',
      () =>
        define(
          { todo: baseColumns() },
          { ...baseGroups(), everyone: { todo: { readOnly: true } } },
        ),
      'group_added',
      true,
    ],
    [
      'a column made nullable',
      () => define({ todo: { ...baseColumns(), name: text().nullable() } }, baseGroups()),
      'made_nullable',
      false,
    ],
    [
      'a column made required',
      () => define({ todo: { ...baseColumns(), note: text() } }, baseGroups()),
      'made_required',
      false,
    ],
    [
      'a default changed',
      () => define({ todo: { ...baseColumns(), archived: boolean().default(true) } }, baseGroups()),
      'default_changed',
      true,
    ],
    [
      'a type changed',
      () => define({ todo: { ...baseColumns(), name: integer() } }, baseGroups()),
      'type_changed',
      false,
    ],
    [
      'immutable added',
      () => define({ todo: { ...baseColumns(), name: text().immutable() } }, baseGroups()),
      'immutable_added',
      false,
    ],
    [
      'a filter widened',
      () =>
        define(
          { todo: baseColumns() },
          { mine: { todo: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
        ),
      'filter_widened',
      true,
    ],
    [
      'a filter narrowed',
      () =>
        define(
          { todo: { ...baseColumns(), flag: boolean().default(true) } },
          {
            mine: {
              todo: {
                restrictTo: { column: 'owner_id', context: 'userId' },
                filter: { archived: false, flag: true },
              },
            },
          },
        ),
      'filter_narrowed',
      false,
    ],
    [
      'a filter value changed',
      () =>
        define(
          { todo: baseColumns() },
          {
            mine: {
              todo: {
                restrictTo: { column: 'owner_id', context: 'userId' },
                filter: { archived: true },
              },
            },
          },
        ),
      'filter_changed',
      false,
    ],
    [
      'a table made read-only',
      () =>
        define(
          { todo: baseColumns() },
          {
            mine: {
              todo: {
                restrictTo: { column: 'owner_id', context: 'userId' },
                filter: { archived: false },
                readOnly: true,
              },
            },
          },
        ),
      'made_read_only',
      false,
    ],
    [
      'a column removed',
      () => {
        const { note: _, ...rest } = baseColumns();
        return define({ todo: rest }, baseGroups());
      },
      'column_removed',
      false,
    ],
    [
      'a group removed',
      () => define({ todo: baseColumns(), tag: { label: text() } }, { other: { tag: true } }),
      'group_removed',
      false,
    ],
    [
      'a table removed',
      () => define({ tag: { label: text() } }, { other: { tag: true } }),
      'table_removed',
      false,
    ],
  ];
  test.each(cases)('%s', (_name, make, kind, additive) => {
    const changes = compareConfigs(configDefinition(base), configDefinition(make()));
    const found = changes.find((c) => c.kind === kind);
    expect(found, JSON.stringify(changes)).toBeDefined();
    expect(found!.additive).toBe(additive);
    expect(found!.description.length).toBeGreaterThan(10);
  });

  test('servesOlder: additive changes only', () => {
    const added = define({ todo: { ...baseColumns(), due: text().nullable() } }, baseGroups());
    const retyped = define({ todo: { ...baseColumns(), name: integer() } }, baseGroups());
    expect(servesOlder(configDefinition(base), configDefinition(added))).toBe(true);
    // The other way round, the newer client's column is unknown to the older server.
    expect(servesOlder(configDefinition(added), configDefinition(base))).toBe(false);
    expect(servesOlder(configDefinition(base), configDefinition(retyped))).toBe(false);
  });

  test('an incompatible change names table and column', () => {
    const retyped = define({ todo: { ...baseColumns(), name: integer() } }, baseGroups());
    const [change] = compareConfigs(configDefinition(base), configDefinition(retyped));
    expect(change).toMatchObject({
      kind: 'type_changed',
      table: 'todo',
      column: 'name',
      description: 'column "todo.name" changed type from text to integer',
    });
  });
});
