import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeDeletedFlag } from '../rules/deleted-flag.ts';
import { type ColumnState, mergeColumn, mergeRow, type RowState } from '../rules/server-merge.ts';
import { compareStamps, type WriteStamp } from '../rules/stamp.ts';

const RUNS = { numRuns: 1000 };
const DELETED = 'is_deleted';
const COLUMNS = ['title', 'done', DELETED] as const;

const s = (t: number, c: string): WriteStamp => ({ t, c });
const col = <V>(value: V, t: number, c: string): ColumnState<V> => ({ value, stamp: s(t, c) });

// Tiny domains so equal write times, equal stamps and equal values are common.
const stampArb = fc.record(
  { t: fc.integer({ min: 0, max: 3 }), c: fc.constantFrom('a', 'b', 'server') },
  { noNullPrototype: true },
);
// A stamp names one write, so an ordinary column's value is a function of it.
const writeValueArb = fc.func(fc.constantFrom<unknown>('x', 'y', null, 0));
type WriteValue = (t: number, c: string) => unknown;
const columnAt = (writeValue: WriteValue, stamp: WriteStamp): ColumnState => ({
  value: writeValue(stamp.t, stamp.c),
  stamp,
});
// The deleted flag is merged by value first, so it is safe even when one stamp
// carries both values.
const flagArb = fc.record({ value: fc.boolean(), stamp: stampArb }, { noNullPrototype: true });
// A row write covers any subset of the columns.
const rowShapeArb = fc.record(
  {
    title: stampArb,
    done: stampArb,
    [DELETED]: flagArb,
  },
  { requiredKeys: [], noNullPrototype: true },
);
type RowShape = {
  title?: WriteStamp;
  done?: WriteStamp;
  [DELETED]?: { value: boolean; stamp: WriteStamp };
};
const toRow = (writeValue: WriteValue, shape: RowShape): RowState => {
  const row: RowState = {};
  if (shape.title) row['title'] = columnAt(writeValue, shape.title);
  if (shape.done) row['done'] = columnAt(writeValue, shape.done);
  const flag = shape[DELETED];
  if (flag) row[DELETED] = { value: flag.value, stamp: flag.stamp };
  return row;
};

describe('mergeColumn', () => {
  it('takes the incoming value when its write time is later', () => {
    const stored = col('old', 1, 'z');
    const incoming = col('new', 2, 'a');
    expect(mergeColumn(stored, incoming)).toBe(incoming);
  });

  it('keeps the stored value when the incoming write time is earlier', () => {
    const stored = col('new', 2, 'a');
    expect(mergeColumn(stored, col('old', 1, 'z'))).toBe(stored);
  });

  it('breaks equal write times by client id', () => {
    const fromA = col('a', 5, 'a');
    const fromB = col('b', 5, 'b');
    expect(mergeColumn(fromA, fromB)).toBe(fromB);
    expect(mergeColumn(fromB, fromA)).toBe(fromB);
  });

  it('keeps the stored state on an equal stamp (a retried write)', () => {
    const stored = col('v', 5, 'a');
    expect(mergeColumn(stored, col('v', 5, 'a'))).toBe(stored);
  });

  it('takes the incoming state when nothing is stored', () => {
    const incoming = col(null, 0, 'a');
    expect(mergeColumn(undefined, incoming)).toBe(incoming);
  });

  it('treats null as a real value that can win', () => {
    expect(mergeColumn(col('text', 1, 'a'), col(null, 2, 'a')).value).toBeNull();
  });

  it('lets a plain SQL write by the server beat older client writes', () => {
    expect(mergeColumn(col('client', 10, 'dev-1'), col('admin', 11, 'server')).value).toBe('admin');
    expect(mergeColumn(col('admin', 11, 'server'), col('client', 10, 'dev-1')).value).toBe('admin');
  });

  it('keeps the state with the greatest stamp', () => {
    fc.assert(
      fc.property(writeValueArb, stampArb, stampArb, (writeValue, a, b) => {
        const merged = mergeColumn(columnAt(writeValue, a), columnAt(writeValue, b));
        expect(merged.stamp).toEqual(compareStamps(a, b) >= 0 ? a : b);
      }),
      RUNS,
    );
  });

  it('is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(writeValueArb, stampArb, stampArb, stampArb, (writeValue, sa, sb, sc) => {
        const [a, b, c] = [sa, sb, sc].map((x) => columnAt(writeValue, x)) as [
          ColumnState,
          ColumnState,
          ColumnState,
        ];
        expect(mergeColumn(a, b)).toEqual(mergeColumn(b, a));
        expect(mergeColumn(mergeColumn(a, b), c)).toEqual(mergeColumn(a, mergeColumn(b, c)));
        expect(mergeColumn(a, a)).toBe(a);
        expect(mergeColumn(mergeColumn(a, b), b)).toEqual(mergeColumn(a, b));
      }),
      RUNS,
    );
  });
});

describe('mergeDeletedFlag', () => {
  it('keeps true against a later false', () => {
    const deleted = col(true, 1, 'a');
    expect(mergeDeletedFlag(deleted, col(false, 9, 'b'))).toBe(deleted);
  });

  it('takes true against a later stored false', () => {
    const deleted = col(true, 1, 'a');
    expect(mergeDeletedFlag(col(false, 9, 'b'), deleted)).toBe(deleted);
  });

  it('keeps the greatest stamp among true states', () => {
    const early = col(true, 1, 'a');
    const late = col(true, 2, 'a');
    expect(mergeDeletedFlag(early, late)).toBe(late);
    expect(mergeDeletedFlag(late, early)).toBe(late);
  });

  it('keeps the greatest stamp among false states', () => {
    const early = col(false, 1, 'a');
    const late = col(false, 1, 'b');
    expect(mergeDeletedFlag(early, late)).toBe(late);
    expect(mergeDeletedFlag(late, early)).toBe(late);
  });

  it('takes the incoming state when nothing is stored', () => {
    const incoming = col(false, 3, 'a');
    expect(mergeDeletedFlag(undefined, incoming)).toBe(incoming);
  });

  it("counts SQLite's 1 as true and 0 as false", () => {
    const deleted = col(1, 1, 'a');
    expect(mergeDeletedFlag(deleted, col(0, 9, 'b'))).toBe(deleted);
    expect(mergeDeletedFlag(col(0, 9, 'b'), deleted)).toBe(deleted);
  });

  it('is true iff either side is, with the greatest stamp among the winning value', () => {
    fc.assert(
      fc.property(flagArb, flagArb, (a, b) => {
        const merged = mergeDeletedFlag(a, b);
        expect(merged.value).toBe(a.value || b.value);
        const candidates = [a, b].filter((x) => x.value === merged.value);
        const best = candidates.reduce((x, y) => (compareStamps(y.stamp, x.stamp) > 0 ? y : x));
        expect(merged.stamp).toEqual(best.stamp);
      }),
      RUNS,
    );
  });

  it('is commutative, associative and idempotent, even when one stamp carries both values', () => {
    fc.assert(
      fc.property(flagArb, flagArb, flagArb, (a, b, c) => {
        expect(mergeDeletedFlag(a, b)).toEqual(mergeDeletedFlag(b, a));
        expect(mergeDeletedFlag(mergeDeletedFlag(a, b), c)).toEqual(
          mergeDeletedFlag(a, mergeDeletedFlag(b, c)),
        );
        expect(mergeDeletedFlag(a, a)).toBe(a);
        expect(mergeDeletedFlag(mergeDeletedFlag(a, b), b)).toEqual(mergeDeletedFlag(a, b));
      }),
      RUNS,
    );
  });
});

describe('mergeRow', () => {
  it('merges each column on its own', () => {
    const stored: RowState = { title: col('old', 5, 'a'), done: col(true, 9, 'a') };
    const incoming: RowState = { title: col('new', 6, 'b'), done: col(false, 7, 'b') };
    expect(mergeRow(stored, incoming, DELETED)).toEqual({
      title: col('new', 6, 'b'),
      done: col(true, 9, 'a'),
    });
  });

  it('keeps stored-only columns and adds incoming-only ones', () => {
    const stored: RowState = { title: col('t', 1, 'a') };
    const incoming: RowState = { done: col(false, 1, 'b') };
    expect(mergeRow(stored, incoming, DELETED)).toEqual({
      title: col('t', 1, 'a'),
      done: col(false, 1, 'b'),
    });
  });

  it('applies the one-way switch to the deleted column only', () => {
    const stored: RowState = { [DELETED]: col(true, 1, 'a'), done: col(true, 1, 'a') };
    const incoming: RowState = { [DELETED]: col(false, 9, 'b'), done: col(false, 9, 'b') };
    const merged = mergeRow(stored, incoming, DELETED);
    expect(merged[DELETED]).toEqual(col(true, 1, 'a'));
    // The same values in an ordinary column merge by stamp alone.
    expect(merged['done']).toEqual(col(false, 9, 'b'));
  });

  it('still merges the other columns of a deleted row', () => {
    const stored: RowState = { [DELETED]: col(true, 5, 'a'), title: col('t', 1, 'a') };
    const merged = mergeRow(stored, { title: col('late edit', 2, 'b') }, DELETED);
    expect(merged).toEqual({ [DELETED]: col(true, 5, 'a'), title: col('late edit', 2, 'b') });
  });

  it('uses the given deleted column name', () => {
    const stored: RowState = { gone: col(true, 1, 'a') };
    expect(mergeRow(stored, { gone: col(false, 2, 'a') }, 'gone')['gone']!.value).toBe(true);
    expect(mergeRow(stored, { gone: col(false, 2, 'a') }, DELETED)['gone']!.value).toBe(false);
  });

  it('returns the stored row itself when nothing changes', () => {
    const stored: RowState = { title: col('t', 5, 'a'), done: col(true, 5, 'a') };
    expect(mergeRow(stored, { title: col('t', 5, 'a'), done: col(false, 1, 'z') }, DELETED)).toBe(
      stored,
    );
    expect(mergeRow(stored, {}, DELETED)).toBe(stored);
  });

  it('returns the incoming row itself when nothing is stored', () => {
    const incoming: RowState = { title: col('t', 5, 'a') };
    expect(mergeRow(undefined, incoming, DELETED)).toBe(incoming);
  });

  it('does not mutate its arguments', () => {
    fc.assert(
      fc.property(writeValueArb, rowShapeArb, rowShapeArb, (writeValue, x, y) => {
        const stored = toRow(writeValue, x);
        const incoming = toRow(writeValue, y);
        const [storedCopy, incomingCopy] = [structuredClone(stored), structuredClone(incoming)];
        mergeRow(stored, incoming, DELETED);
        expect(stored).toStrictEqual(storedCopy);
        expect(incoming).toStrictEqual(incomingCopy);
      }),
      RUNS,
    );
  });

  it('is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(writeValueArb, rowShapeArb, rowShapeArb, rowShapeArb, (writeValue, x, y, z) => {
        const [a, b, c] = [x, y, z].map((shape) => toRow(writeValue, shape)) as [
          RowState,
          RowState,
          RowState,
        ];
        expect(mergeRow(a, b, DELETED)).toEqual(mergeRow(b, a, DELETED));
        expect(mergeRow(mergeRow(a, b, DELETED), c, DELETED)).toEqual(
          mergeRow(a, mergeRow(b, c, DELETED), DELETED),
        );
        expect(mergeRow(a, a, DELETED)).toBe(a);
        expect(mergeRow(mergeRow(a, b, DELETED), b, DELETED)).toEqual(mergeRow(a, b, DELETED));
      }),
      RUNS,
    );
  });

  it('brings replicas given the same writes in any order, with duplicates, to the same row', () => {
    const scenario = fc
      .tuple(writeValueArb, fc.array(rowShapeArb, { minLength: 1, maxLength: 12 }))
      .chain(([writeValue, shapes]) => {
        const writes = shapes.map((shape) => toRow(writeValue, shape));
        const replay = fc
          .tuple(
            fc.shuffledSubarray(writes, { minLength: writes.length, maxLength: writes.length }),
            fc.array(fc.constantFrom(...writes), { maxLength: 6 }),
            fc.infiniteStream(fc.nat()),
          )
          .map(([shuffled, duplicates, positions]) => {
            const order = [...shuffled];
            for (const dup of duplicates)
              order.splice(positions.next().value % (order.length + 1), 0, dup);
            return order;
          });
        return fc.tuple(fc.constant(writes), replay, replay);
      });
    fc.assert(
      fc.property(scenario, ([writes, orderA, orderB]) => {
        const fold = (order: RowState[]) =>
          order.reduce<RowState | undefined>(
            (row, write) => mergeRow(row, write, DELETED),
            undefined,
          );
        const reference = fold(writes);
        expect(fold(orderA)).toEqual(reference);
        expect(fold(orderB)).toEqual(reference);
        // And the reference is the rule itself: each column holds its greatest
        // write, and the row is deleted iff any write deleted it.
        for (const column of COLUMNS) {
          const states = writes.flatMap((w) => (w[column] ? [w[column]] : []));
          if (states.length === 0) {
            expect(reference).not.toHaveProperty(column);
            continue;
          }
          const winners =
            column === DELETED && states.some((st) => st.value === true)
              ? states.filter((st) => st.value === true)
              : states;
          const best = winners.reduce((x, y) => (compareStamps(y.stamp, x.stamp) > 0 ? y : x));
          expect(reference![column]).toEqual(best);
        }
      }),
      RUNS,
    );
  });
});
