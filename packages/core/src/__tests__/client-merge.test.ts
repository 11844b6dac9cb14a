import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideIncomingColumn,
  type IncomingRow,
  type LocalRow,
  mergeIncomingRow,
  replaceCleanColumns,
} from '../rules/client-merge.ts';
import type { ClientColumnMetadata } from '../rules/column-metadata.ts';
import { mergeRow, type RowState } from '../rules/server-merge.ts';
import type { WriteStamp } from '../rules/stamp.ts';

const RUNS = { numRuns: 1000 };
const DELETED = 'is_deleted';

describe('decideIncomingColumn', () => {
  it('takes a column the replica has no stamp for', () => {
    expect(decideIncomingColumn(undefined, { t: 0, c: 'a' })).toBe('take');
  });

  it('never overwrites a dirty column, however new the incoming write', () => {
    expect(decideIncomingColumn({ t: 5, c: 'me', d: 1 }, { t: 9, c: 'other' })).toBe('keep');
    expect(decideIncomingColumn({ t: 5, c: 'me', d: 1 }, { t: 5, c: 'me' })).toBe('keep');
  });

  it('takes a newer write over a clean column', () => {
    expect(decideIncomingColumn({ t: 5, c: 'me' }, { t: 9, c: 'other' })).toBe('take');
    expect(decideIncomingColumn({ t: 5, c: 'a' }, { t: 5, c: 'b' })).toBe('take');
  });

  it('takes an equal stamp (the same write)', () => {
    expect(decideIncomingColumn({ t: 5, c: 'me' }, { t: 5, c: 'me' })).toBe('take');
  });

  it('keeps a clean column against an older write (a late page does not undo my upload)', () => {
    expect(decideIncomingColumn({ t: 9, c: 'me' }, { t: 5, c: 'other' })).toBe('keep');
    expect(decideIncomingColumn({ t: 5, c: 'b' }, { t: 5, c: 'a' })).toBe('keep');
  });
});

const local = (values: Record<string, unknown>, metadata: ClientColumnMetadata): LocalRow => ({
  values,
  metadata,
});
const incoming = (
  values: Record<string, unknown>,
  metadata: Record<string, WriteStamp>,
): IncomingRow => ({ values, metadata });

describe('mergeIncomingRow', () => {
  it('takes the whole incoming row when the replica lacks it', () => {
    const row = incoming({ id: 'r1', title: 'x' }, { title: { t: 1, c: 'a' } });
    expect(mergeIncomingRow(undefined, row, DELETED)).toEqual({
      values: row.values,
      metadata: row.metadata,
      changed: true,
    });
  });

  it('takes newer columns and keeps older and local-only ones', () => {
    const mine = local(
      { id: 'r1', title: 'mine', done: true, note: 'local' },
      { title: { t: 5, c: 'me' }, done: { t: 9, c: 'me' }, note: { t: 1, c: 'me' } },
    );
    const theirs = incoming(
      { title: 'theirs', done: false },
      { title: { t: 7, c: 'other' }, done: { t: 8, c: 'other' } },
    );
    expect(mergeIncomingRow(mine, theirs, DELETED)).toEqual({
      values: { id: 'r1', title: 'theirs', done: true, note: 'local' },
      metadata: { title: { t: 7, c: 'other' }, done: { t: 9, c: 'me' }, note: { t: 1, c: 'me' } },
      changed: true,
    });
  });

  it('never overwrites a dirty column and keeps its dirty mark', () => {
    const mine = local({ title: 'editing' }, { title: { t: 5, c: 'me', d: 1 } });
    const result = mergeIncomingRow(
      mine,
      incoming({ title: 'x' }, { title: { t: 50, c: 'o' } }),
      DELETED,
    );
    expect(result.changed).toBe(false);
    expect(result.values).toBe(mine.values);
    expect(result.metadata).toBe(mine.metadata);
  });

  it('ignores a late page computed before my acknowledged upload', () => {
    // My upload at t=9 was acknowledged; a page read at t=7 arrives afterwards.
    const mine = local({ title: 'mine' }, { title: { t: 9, c: 'me' } });
    const result = mergeIncomingRow(
      mine,
      incoming({ title: 'stale' }, { title: { t: 7, c: 'me' } }),
      DELETED,
    );
    expect(result).toEqual({
      values: { title: 'mine' },
      metadata: { title: { t: 9, c: 'me' } },
      changed: false,
    });
  });

  it('reports no change for the same row sent again, including JSON, bytes and dates', () => {
    const values = {
      title: 't',
      tags: { b: [1, { x: null }], a: 'z' },
      blob: new Uint8Array([1, 2, 3]),
      at: new Date(5),
      empty: null,
    };
    const metadata = Object.fromEntries(Object.keys(values).map((k) => [k, { t: 3, c: 'a' }]));
    const mine = local(values, metadata);
    const resent = incoming(
      {
        title: 't',
        tags: { a: 'z', b: [1, { x: null }] },
        blob: new Uint8Array([1, 2, 3]),
        at: new Date(5),
        empty: null,
      },
      structuredClone(metadata),
    );
    const result = mergeIncomingRow(mine, resent, DELETED);
    expect(result.changed).toBe(false);
    expect(result.values).toBe(mine.values);
  });

  it.each([
    ['a nested JSON value', { v: { a: [1, 2] } }, { v: { a: [1, 3] } }],
    ['an array length', { v: [1] }, { v: [1, 1] }],
    ['an object key', { v: { a: 1 } }, { v: { b: 1 } }],
    ['bytes', { v: new Uint8Array([1, 2]) }, { v: new Uint8Array([1, 3]) }],
    ['a date', { v: new Date(1) }, { v: new Date(2) }],
    ['null against a value', { v: null }, { v: 0 }],
    ['an array against an object', { v: [] }, { v: {} }],
    ['a missing local column', {}, { v: undefined }],
  ])('reports a change in %s at an equal stamp', (_label, before, after) => {
    const meta = { v: { t: 3, c: 'a' } };
    const result = mergeIncomingRow(local(before, meta), incoming(after, meta), DELETED);
    expect(result.changed).toBe(true);
    expect(result.values).toEqual({ ...before, ...after });
  });

  it('reports a change when only the stamp is newer', () => {
    const result = mergeIncomingRow(
      local({ title: 't' }, { title: { t: 3, c: 'a' } }),
      incoming({ title: 't' }, { title: { t: 4, c: 'a' } }),
      DELETED,
    );
    expect(result.changed).toBe(true);
    expect(result.metadata).toEqual({ title: { t: 4, c: 'a' } });
  });

  it('lets an incoming deletion override a dirty local not-deleted value', () => {
    // Insert marks every synced column dirty, the deleted flag included.
    const mine = local(
      { title: 'new', [DELETED]: false },
      { title: { t: 5, c: 'me', d: 1 }, [DELETED]: { t: 5, c: 'me', d: 1 } },
    );
    const result = mergeIncomingRow(
      mine,
      incoming(
        { title: 'x', [DELETED]: true },
        { title: { t: 3, c: 'o' }, [DELETED]: { t: 3, c: 'o' } },
      ),
      DELETED,
    );
    expect(result.values).toEqual({ title: 'new', [DELETED]: true });
    expect(result.metadata).toEqual({
      title: { t: 5, c: 'me', d: 1 },
      [DELETED]: { t: 3, c: 'o' },
    });
    expect(result.changed).toBe(true);
  });

  it('clears the dirty mark of an overridden not-deleted value even at an equal stamp', () => {
    const mine = local({ [DELETED]: false }, { [DELETED]: { t: 5, c: 'me', d: 1 } });
    const result = mergeIncomingRow(
      mine,
      incoming({ [DELETED]: true }, { [DELETED]: { t: 5, c: 'me' } }),
      DELETED,
    );
    expect(result.metadata).toStrictEqual({ [DELETED]: { t: 5, c: 'me' } });
  });

  it('keeps a local deletion against a newer not-deleted value', () => {
    const mine = local({ [DELETED]: true }, { [DELETED]: { t: 1, c: 'me' } });
    const result = mergeIncomingRow(
      mine,
      incoming({ [DELETED]: false }, { [DELETED]: { t: 9, c: 'o' } }),
      DELETED,
    );
    expect(result).toEqual({ values: mine.values, metadata: mine.metadata, changed: false });
  });

  it('keeps a dirty local deletion against a newer deletion, and takes it when clean', () => {
    const theirs = incoming({ [DELETED]: true }, { [DELETED]: { t: 9, c: 'o' } });
    const dirty = local({ [DELETED]: true }, { [DELETED]: { t: 1, c: 'me', d: 1 } });
    expect(mergeIncomingRow(dirty, theirs, DELETED).changed).toBe(false);
    const clean = local({ [DELETED]: true }, { [DELETED]: { t: 1, c: 'me' } });
    expect(mergeIncomingRow(clean, theirs, DELETED).metadata).toEqual({
      [DELETED]: { t: 9, c: 'o' },
    });
  });

  it("counts SQLite's 1 as deleted", () => {
    const mine = local({ [DELETED]: 1 }, { [DELETED]: { t: 1, c: 'me' } });
    const result = mergeIncomingRow(
      mine,
      incoming({ [DELETED]: 0 }, { [DELETED]: { t: 9, c: 'o' } }),
      DELETED,
    );
    expect(result.values[DELETED]).toBe(1);
  });

  it('takes an unstamped bookkeeping column only when the replica has no stamp for it', () => {
    const mine = local({ title: 't', last_synced_at: 'old' }, { title: { t: 3, c: 'a' } });
    const result = mergeIncomingRow(
      mine,
      incoming({ title: 't', last_synced_at: 'new' }, { title: { t: 3, c: 'a' } }),
      DELETED,
    );
    expect(result).toEqual({
      values: { title: 't', last_synced_at: 'new' },
      metadata: mine.metadata,
      changed: true,
    });
    expect(mergeIncomingRow(mine, incoming({ title: 'other' }, {}), DELETED).changed).toBe(false);
  });

  it('applies an unstamped deletion and drops the stamp of the value it replaced', () => {
    const mine = local(
      { [DELETED]: false, title: 't' },
      { [DELETED]: { t: 3, c: 'a', d: 1 }, title: { t: 3, c: 'a' } },
    );
    expect(mergeIncomingRow(mine, incoming({ [DELETED]: true }, {}), DELETED)).toEqual({
      values: { [DELETED]: true, title: 't' },
      metadata: { title: { t: 3, c: 'a' } },
      changed: true,
    });
  });
});

// Small domains: equal stamps and equal values happen often.
const stampArb = fc.record(
  { t: fc.integer({ min: 0, max: 3 }), c: fc.constantFrom('a', 'b', 'server') },
  { noNullPrototype: true },
);
const writeValueArb = fc.func(fc.constantFrom<unknown>('x', 'y', null, 0));
type WriteValue = (t: number, c: string) => unknown;
const serverRowArb = fc.record(
  {
    title: stampArb,
    done: stampArb,
    [DELETED]: fc.record({ value: fc.boolean(), stamp: stampArb }, { noNullPrototype: true }),
  },
  { requiredKeys: [], noNullPrototype: true },
);
type ServerRowShape = {
  title?: WriteStamp;
  done?: WriteStamp;
  [DELETED]?: { value: boolean; stamp: WriteStamp };
};
function serverRow(writeValue: WriteValue, shape: ServerRowShape): RowState {
  const row: RowState = {};
  if (shape.title)
    row['title'] = { value: writeValue(shape.title.t, shape.title.c), stamp: shape.title };
  if (shape.done)
    row['done'] = { value: writeValue(shape.done.t, shape.done.c), stamp: shape.done };
  if (shape[DELETED]) row[DELETED] = shape[DELETED];
  return row;
}
function toIncoming(row: RowState): IncomingRow {
  const values: Record<string, unknown> = {};
  const metadata: Record<string, WriteStamp> = {};
  for (const [column, state] of Object.entries(row)) {
    values[column] = state.value;
    metadata[column] = state.stamp;
  }
  return { values, metadata };
}
/** Orders of the same writes: shuffled, with some delivered twice. */
function replaysOf<T>(items: T[]): fc.Arbitrary<T[]> {
  return fc
    .tuple(
      fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }),
      fc.array(fc.constantFrom(...items), { maxLength: 4 }),
      fc.infiniteStream(fc.nat()),
    )
    .map(([shuffled, duplicates, positions]) => {
      const order = [...shuffled];
      for (const dup of duplicates)
        order.splice(positions.next().value % (order.length + 1), 0, dup);
      return order;
    });
}

describe('mergeIncomingRow: properties', () => {
  const scenario = fc
    .tuple(writeValueArb, fc.array(serverRowArb, { minLength: 1, maxLength: 10 }), stampArb)
    .chain(([writeValue, shapes, start]) => {
      const rows = shapes.map((shape) => serverRow(writeValue, shape));
      // A clean replica that already holds the row, written by one earlier write.
      const clean = local(
        {
          title: writeValue(start.t, start.c),
          done: writeValue(start.t, start.c),
          [DELETED]: false,
        },
        { title: { ...start }, done: { ...start }, [DELETED]: { ...start } },
      );
      return fc.tuple(fc.constant(rows), fc.constant(clean), replaysOf(rows), replaysOf(rows));
    });
  const apply = (start: LocalRow | undefined, rows: RowState[]) =>
    rows.reduce<LocalRow | undefined>((row, next) => {
      const { values, metadata } = mergeIncomingRow(row, toIncoming(next), DELETED);
      return { values, metadata };
    }, start);

  it('gives the same row for the same incoming states in any order, with duplicates', () => {
    fc.assert(
      fc.property(scenario, ([rows, clean, orderA, orderB]) => {
        expect(apply(undefined, orderA)).toEqual(apply(undefined, rows));
        expect(apply(undefined, orderB)).toEqual(apply(undefined, rows));
        expect(apply(clean, orderA)).toEqual(apply(clean, rows));
        expect(apply(clean, orderB)).toEqual(apply(clean, rows));
      }),
      RUNS,
    );
  });

  it("agrees with the server's merge of the same states", () => {
    fc.assert(
      fc.property(scenario, ([rows, clean, order]) => {
        const server = rows.reduce<RowState | undefined>(
          (row, next) => mergeRow(row, next, DELETED),
          undefined,
        )!;
        const client = apply(undefined, order)!;
        expect(client).toEqual(toIncoming(server));
        // From a clean replica: the server merge of its state and the incoming ones.
        const startState: RowState = {};
        for (const column of Object.keys(clean.values)) {
          startState[column] = { value: clean.values[column], stamp: clean.metadata[column]! };
        }
        expect(apply(clean, order)).toEqual(toIncoming(mergeRow(startState, server, DELETED)));
      }),
      RUNS,
    );
  });

  it('never changes a dirty column (other than by a deletion) and reports changes exactly', () => {
    fc.assert(
      fc.property(scenario, fc.subarray(['title', 'done', DELETED]), ([rows, clean], dirty) => {
        const metadata: ClientColumnMetadata = { ...clean.metadata };
        for (const column of dirty) metadata[column] = { ...metadata[column]!, d: 1 };
        let row: LocalRow = { values: clean.values, metadata };
        for (const next of rows) {
          const before = structuredClone(row);
          const result = mergeIncomingRow(row, toIncoming(next), DELETED);
          expect(row).toEqual(before); // inputs untouched
          expect(result.changed).toBe(
            JSON.stringify([result.values, result.metadata]) !==
              JSON.stringify([before.values, before.metadata]),
          );
          for (const column of dirty) {
            if (column === DELETED && result.values[DELETED] === true) continue;
            expect(result.values[column]).toEqual(before.values[column]);
            expect(result.metadata[column]).toEqual(before.metadata[column]);
          }
          row = { values: result.values, metadata: result.metadata };
        }
      }),
      RUNS,
    );
  });
});

describe('replaceCleanColumns (a reset pass after the server failed over)', () => {
  const local = {
    values: { name: 'lost update', note: 'mine, unsent', is_deleted: false },
    metadata: {
      name: { t: 900, c: 'a' },
      note: { t: 950, c: 'a', d: 1 as const },
      is_deleted: { t: 100, c: 'a' },
    },
  };
  const incoming = {
    values: { name: 'before', note: 'server', is_deleted: false },
    metadata: {
      name: { t: 500, c: 'b' },
      note: { t: 500, c: 'b' },
      is_deleted: { t: 100, c: 'a' },
    },
  };

  it('clean columns take the server value even when the local stamp is newer; dirty ones stay', () => {
    const merged = replaceCleanColumns(local, incoming, 'is_deleted');
    expect(merged.changed).toBe(true);
    expect(merged.values).toEqual({ name: 'before', note: 'mine, unsent', is_deleted: false });
    expect(merged.metadata).toEqual({
      name: { t: 500, c: 'b' },
      note: { t: 950, c: 'a', d: 1 },
      is_deleted: { t: 100, c: 'a' },
    });
    // mergeIncomingRow would keep the lost update.
    expect(mergeIncomingRow(local, incoming, 'is_deleted').values['name']).toBe('lost update');
  });

  it('a clean local deletion the server never had gives way; a dirty one stays', () => {
    const deleted = {
      values: { ...local.values, is_deleted: true },
      metadata: { ...local.metadata, is_deleted: { t: 990, c: 'a' } },
    };
    expect(replaceCleanColumns(deleted, incoming, 'is_deleted').values['is_deleted']).toBe(false);
    const dirtyDelete = {
      ...deleted,
      metadata: { ...deleted.metadata, is_deleted: { t: 990, c: 'a', d: 1 as const } },
    };
    expect(replaceCleanColumns(dirtyDelete, incoming, 'is_deleted').values['is_deleted']).toBe(
      true,
    );
  });

  it('the same row again changes nothing', () => {
    const same = { values: incoming.values, metadata: incoming.metadata };
    expect(replaceCleanColumns(same, incoming, 'is_deleted').changed).toBe(false);
  });
});
