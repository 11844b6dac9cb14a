import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientColumnMetadata, ServerColumnMetadata } from '../rules/column-metadata.ts';
import { acknowledge, dirtyColumns, markDirty, uploadSnapshot } from '../rules/dirty.ts';
import { compareStamps } from '../rules/stamp.ts';

const RUNS = { numRuns: 1000 };
const ME = 'dev-1';

describe('markDirty', () => {
  it('gives the columns the stamp and the dirty mark, leaving the others', () => {
    const meta: ClientColumnMetadata = {
      title: { t: 1, c: 'server' },
      done: { t: 1, c: 'server' },
    };
    expect(markDirty(meta, ['title', 'note'], { t: 7, c: ME })).toStrictEqual({
      title: { t: 7, c: ME, d: 1 },
      done: { t: 1, c: 'server' },
      note: { t: 7, c: ME, d: 1 },
    });
  });

  it('returns a new object and does not mutate the input', () => {
    const meta: ClientColumnMetadata = { title: { t: 1, c: 'server' } };
    const out = markDirty(meta, ['title'], { t: 7, c: ME });
    expect(out).not.toBe(meta);
    expect(meta).toStrictEqual({ title: { t: 1, c: 'server' } });
  });

  it('copies the stamp rather than holding the caller object', () => {
    const stamp = { t: 7, c: ME };
    const out = markDirty({}, ['a'], stamp);
    stamp.t = 99;
    expect(out['a']!.t).toBe(7);
  });

  it('with no columns changes nothing', () => {
    const meta: ClientColumnMetadata = { a: { t: 1, c: 'x', d: 1 } };
    expect(markDirty(meta, [], { t: 9, c: ME })).toStrictEqual(meta);
  });
});

describe('dirtyColumns and uploadSnapshot', () => {
  const meta: ClientColumnMetadata = {
    a: { t: 3, c: ME, d: 1 },
    b: { t: 2, c: 'server' },
    c: { t: 5, c: ME, d: 1 },
  };

  it('lists the dirty columns', () => {
    expect(dirtyColumns(meta)).toEqual(['a', 'c']);
    expect(dirtyColumns({})).toEqual([]);
  });

  it('remembers the write time of each dirty column', () => {
    expect(uploadSnapshot(meta)).toStrictEqual({ a: 3, c: 5 });
  });

  it('limits the snapshot to the given columns, leaving clean and unknown ones out', () => {
    expect(uploadSnapshot(meta, ['c', 'b', 'zzz'])).toStrictEqual({ c: 5 });
    expect(uploadSnapshot(meta, [])).toStrictEqual({});
  });
});

describe('acknowledge', () => {
  it('clears the dirty mark of uploaded columns and keeps a winning stamp', () => {
    const meta = markDirty({}, ['title', 'done'], { t: 7, c: ME });
    const uploaded = uploadSnapshot(meta);
    const resolved: ServerColumnMetadata = { title: { t: 7, c: ME }, done: { t: 7, c: ME } };
    expect(acknowledge(meta, uploaded, resolved)).toStrictEqual({
      metadata: { title: { t: 7, c: ME }, done: { t: 7, c: ME } },
      takeResolvedValue: [],
    });
  });

  it('takes the winner for a column whose write lost at the server', () => {
    const meta = markDirty({}, ['title'], { t: 7, c: ME });
    const resolved: ServerColumnMetadata = { title: { t: 8, c: 'dev-2' } };
    expect(acknowledge(meta, uploadSnapshot(meta), resolved)).toStrictEqual({
      metadata: { title: { t: 8, c: 'dev-2' } },
      takeResolvedValue: ['title'],
    });
  });

  it('keeps a column edited again while the upload was in flight dirty', () => {
    let meta = markDirty({}, ['title', 'done'], { t: 7, c: ME });
    const uploaded = uploadSnapshot(meta);
    // The user edits the title while the request is on the wire.
    meta = markDirty(meta, ['title'], { t: 9, c: ME });
    const resolved: ServerColumnMetadata = { title: { t: 8, c: 'dev-2' }, done: { t: 7, c: ME } };
    const { metadata, takeResolvedValue } = acknowledge(meta, uploaded, resolved);
    expect(metadata).toStrictEqual({ title: { t: 9, c: ME, d: 1 }, done: { t: 7, c: ME } });
    // The newer local edit is still to be uploaded: its value must not be replaced.
    expect(takeResolvedValue).toEqual([]);
    expect(dirtyColumns(metadata)).toEqual(['title']);
    expect(uploadSnapshot(metadata)).toStrictEqual({ title: 9 });
  });

  it('keeps an in-flight edit dirty even when the server says its upload lost', () => {
    let meta = markDirty({}, ['title'], { t: 7, c: ME });
    const uploaded = uploadSnapshot(meta);
    meta = markDirty(meta, ['title'], { t: 8, c: ME });
    const { metadata, takeResolvedValue } = acknowledge(meta, uploaded, {
      title: { t: 20, c: 'z' },
    });
    expect(metadata).toStrictEqual({ title: { t: 8, c: ME, d: 1 } });
    expect(takeResolvedValue).toEqual([]);
  });

  it('leaves dirty columns that were not part of this upload dirty', () => {
    const meta = markDirty({}, ['a', 'b'], { t: 7, c: ME });
    const uploaded = uploadSnapshot(meta, ['a']);
    const { metadata } = acknowledge(meta, uploaded, {
      a: { t: 7, c: ME },
      b: { t: 1, c: 'server' },
    });
    expect(metadata).toStrictEqual({ a: { t: 7, c: ME }, b: { t: 7, c: ME, d: 1 } });
  });

  it('updates clean columns that the server holds newer values for', () => {
    const meta: ClientColumnMetadata = {
      title: { t: 7, c: ME, d: 1 },
      done: { t: 2, c: 'server' },
    };
    const resolved: ServerColumnMetadata = {
      title: { t: 7, c: ME },
      done: { t: 5, c: 'dev-3' },
      added: { t: 4, c: 'server' },
    };
    expect(acknowledge(meta, uploadSnapshot(meta), resolved)).toStrictEqual({
      metadata: {
        title: { t: 7, c: ME },
        done: { t: 5, c: 'dev-3' },
        added: { t: 4, c: 'server' },
      },
      takeResolvedValue: ['done', 'added'],
    });
  });

  it('ignores a resolved stamp older than a clean local one (a download came first)', () => {
    const meta: ClientColumnMetadata = { title: { t: 7, c: ME, d: 1 }, done: { t: 9, c: 'dev-3' } };
    const resolved: ServerColumnMetadata = { title: { t: 7, c: ME }, done: { t: 6, c: 'dev-3' } };
    expect(acknowledge(meta, uploadSnapshot(meta), resolved)).toStrictEqual({
      metadata: { title: { t: 7, c: ME }, done: { t: 9, c: 'dev-3' } },
      takeResolvedValue: [],
    });
  });

  it('does not clear a column whose uploaded time matches another column only', () => {
    const meta: ClientColumnMetadata = { a: { t: 7, c: ME, d: 1 } };
    expect(acknowledge(meta, { b: 7 }, {}).metadata).toStrictEqual(meta);
    expect(acknowledge(meta, { a: 6 }, {}).metadata).toStrictEqual(meta);
  });

  it('does not mutate its inputs', () => {
    const meta = markDirty({ x: { t: 1, c: 'server' } }, ['a'], { t: 7, c: ME });
    const uploaded = uploadSnapshot(meta);
    const resolved: ServerColumnMetadata = { a: { t: 8, c: 'z' }, x: { t: 2, c: 'server' } };
    const copies = structuredClone({ meta, uploaded, resolved });
    acknowledge(meta, uploaded, resolved);
    expect({ meta, uploaded, resolved }).toStrictEqual(copies);
  });
});

const columnArb = fc.constantFrom('a', 'b', 'c', 'd');
const stampArb = fc.record(
  { t: fc.integer({ min: 0, max: 5 }), c: fc.constantFrom(ME, 'dev-2', 'server') },
  { noNullPrototype: true },
);

describe('dirty bookkeeping: properties', () => {
  it('after any writes, in-flight edits and an answer, exactly the re-edited columns stay dirty', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.subarray(['a', 'b', 'c', 'd']), fc.integer({ min: 1, max: 5 })), {
          maxLength: 5,
        }),
        fc.subarray(['a', 'b', 'c', 'd']),
        fc.dictionary(columnArb, stampArb, { noNullPrototype: true }),
        (writes, editedInFlight, serverWins) => {
          let meta: ClientColumnMetadata = {};
          let t = 0;
          for (const [columns] of writes) meta = markDirty(meta, columns, { t: ++t, c: ME });
          const uploaded = uploadSnapshot(meta);
          meta = markDirty(meta, editedInFlight, { t: ++t, c: ME });
          // The server resolves each uploaded column to my write or a newer one.
          const resolved: ServerColumnMetadata = {};
          for (const [column, time] of Object.entries(uploaded)) {
            const other = serverWins[column];
            resolved[column] = other && other.t > time ? other : { t: time, c: ME };
          }
          const result = acknowledge(meta, uploaded, resolved);
          expect(dirtyColumns(result.metadata).sort()).toEqual([...editedInFlight].sort());
          for (const column of Object.keys(uploaded)) {
            if (editedInFlight.includes(column)) {
              expect(result.metadata[column]).toStrictEqual(meta[column]);
              expect(result.takeResolvedValue).not.toContain(column);
            } else {
              expect(result.metadata[column]).toStrictEqual(resolved[column]);
              expect(result.takeResolvedValue.includes(column)).toBe(
                compareStamps(resolved[column]!, { t: uploaded[column]!, c: ME }) > 0,
              );
            }
          }
        },
      ),
      RUNS,
    );
  });

  it('never lowers a clean stamp and never touches a dirty column', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          columnArb,
          fc.record(
            {
              t: fc.integer({ min: 0, max: 5 }),
              c: fc.constantFrom(ME, 'x'),
              d: fc.constant(1 as const),
            },
            {
              requiredKeys: ['t', 'c'],
              noNullPrototype: true,
            },
          ),
          { noNullPrototype: true },
        ),
        fc.dictionary(columnArb, fc.integer({ min: 0, max: 5 }), { noNullPrototype: true }),
        fc.dictionary(columnArb, stampArb, { noNullPrototype: true }),
        (meta, uploaded, resolved) => {
          const result = acknowledge(meta, uploaded, resolved);
          for (const [column, after] of Object.entries(result.metadata)) {
            const before = meta[column];
            const cleared = before?.d === 1 && uploaded[column] === before.t;
            if (before?.d === 1 && !cleared) {
              expect(after).toStrictEqual(before);
              continue;
            }
            expect(after.d).toBeUndefined();
            if (before) expect(compareStamps(after, before)).toBeGreaterThanOrEqual(0);
            const res = resolved[column];
            expect(result.takeResolvedValue.includes(column)).toBe(
              res !== undefined && (before === undefined || compareStamps(res, before) > 0),
            );
          }
          expect(Object.keys(result.metadata).sort()).toEqual(
            [...new Set([...Object.keys(meta), ...Object.keys(resolved)])].sort(),
          );
        },
      ),
      RUNS,
    );
  });
});
