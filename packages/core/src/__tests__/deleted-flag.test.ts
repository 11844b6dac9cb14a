import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LocalRow, mergeIncomingRow } from '../rules/client-merge.ts';
import type { ClientColumnMetadata, ServerColumnMetadata } from '../rules/column-metadata.ts';
import {
  applyTombstone,
  deletionWinner,
  isDeleted,
  mayBecome,
  mergeDeletedFlag,
  mergedDeleted,
  takesResolvedDeletion,
} from '../rules/deleted-flag.ts';
import { acknowledge } from '../rules/dirty.ts';

const RUNS = { numRuns: 1000 };
const DELETED = 'is_deleted';

// What a flag can hold: booleans, and SQLite's integers.
const flagValue = fc.constantFrom<unknown>(true, false, 1, 0);
const stamp = fc.record(
  { t: fc.integer({ min: 0, max: 3 }), c: fc.constantFrom('a', 'b', 'server') },
  { noNullPrototype: true },
);
const clientStamp = fc.record(
  { t: fc.integer({ min: 0, max: 3 }), c: fc.constantFrom('a', 'b'), d: fc.constant(1 as const) },
  { requiredKeys: ['t', 'c'], noNullPrototype: true },
);

describe('isDeleted, mergedDeleted, mayBecome', () => {
  it('count truthy values as deleted', () => {
    expect([true, 1, false, 0, null, undefined].map(isDeleted)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('merge to deleted when either side is, in any order, idempotently', () => {
    fc.assert(
      fc.property(flagValue, flagValue, flagValue, (a, b, c) => {
        expect(mergedDeleted(a, b)).toBe(mergedDeleted(b, a));
        expect(mergedDeleted(mergedDeleted(a, b), c)).toBe(mergedDeleted(a, mergedDeleted(b, c)));
        expect(mergedDeleted(a, a)).toBe(isDeleted(a));
        expect(mergedDeleted(a, b)).toBe(isDeleted(a) || isDeleted(b));
      }),
    );
  });

  it('refuse only an un-delete', () => {
    expect(mayBecome(false, false)).toBe(true);
    expect(mayBecome(false, true)).toBe(true);
    expect(mayBecome(true, true)).toBe(true);
    expect(mayBecome(true, false)).toBe(false);
    expect(mayBecome(1, 0)).toBe(false);
  });
});

describe('deletionWinner', () => {
  it('names the deleted side when the sides differ, nothing when they agree', () => {
    expect(deletionWinner(false, true)).toBe('theirs');
    expect(deletionWinner(1, 0)).toBe('ours');
    expect(deletionWinner(true, 1)).toBeUndefined();
    expect(deletionWinner(false, 0)).toBeUndefined();
  });

  it('is what mergeDeletedFlag decides by whenever the flags differ, whatever the stamps', () => {
    fc.assert(
      fc.property(flagValue, stamp, flagValue, stamp, (a, sa, b, sb) => {
        const stored = { value: a, stamp: sa };
        const incoming = { value: b, stamp: sb };
        const winner = deletionWinner(a, b);
        const merged = mergeDeletedFlag(stored, incoming);
        if (winner !== undefined) expect(merged).toBe(winner === 'ours' ? stored : incoming);
        expect(isDeleted(merged.value)).toBe(mergedDeleted(a, b));
      }),
      RUNS,
    );
  });
});

describe('applyTombstone', () => {
  const localRow = fc.record(
    {
      values: fc.record({ title: fc.constantFrom('x', 'y'), [DELETED]: flagValue }),
      metadata: fc.record(
        { title: clientStamp, [DELETED]: clientStamp },
        { requiredKeys: [], noNullPrototype: true },
      ),
    },
    { noNullPrototype: true },
  ) as fc.Arbitrary<LocalRow>;

  it('is the client merge of an id-only deleted row', () => {
    fc.assert(
      fc.property(localRow, (local) => {
        const merged = mergeIncomingRow(
          local,
          { values: { [DELETED]: true }, metadata: {} },
          DELETED,
        );
        const tombstone = applyTombstone(local, DELETED);
        if (isDeleted(local.values[DELETED])) {
          expect(tombstone).toStrictEqual({
            values: local.values,
            metadata: local.metadata,
            changed: false,
          });
          expect(tombstone.values).toBe(local.values);
        } else {
          expect(tombstone).toStrictEqual(merged);
        }
      }),
      RUNS,
    );
  });

  it('marks a not-deleted copy deleted, drops its flag stamp and keeps the rest', () => {
    const local: LocalRow = {
      values: { title: 'mine', [DELETED]: false },
      metadata: { title: { t: 5, c: 'me', d: 1 }, [DELETED]: { t: 5, c: 'me', d: 1 } },
    };
    expect(applyTombstone(local, DELETED)).toStrictEqual({
      values: { title: 'mine', [DELETED]: true },
      metadata: { title: { t: 5, c: 'me', d: 1 } },
      changed: true,
    });
    expect(local.values[DELETED]).toBe(false);
  });
});

describe('acknowledge with the deleted flag', () => {
  /** What the client's upload did with acknowledge's result before the rule moved to core. */
  function acknowledgeThenPatch(
    meta: ClientColumnMetadata,
    uploaded: Record<string, number>,
    resolved: ServerColumnMetadata,
    localFlag: boolean,
    resolvedFlag: boolean,
  ) {
    const { metadata, takeResolvedValue } = acknowledge(meta, uploaded, resolved);
    let flag = takeResolvedValue.includes(DELETED) ? resolvedFlag : localFlag;
    const deletedStamp = resolved[DELETED];
    if (resolvedFlag === true && !flag && deletedStamp) {
      flag = true;
      metadata[DELETED] = { t: deletedStamp.t, c: deletedStamp.c };
    }
    return { metadata, flag };
  }

  it('gives the flag and metadata the upload used to patch in', () => {
    const meta = fc.dictionary(fc.constantFrom('title', DELETED), clientStamp, {
      noNullPrototype: true,
    });
    const resolved = fc.dictionary(fc.constantFrom('title', DELETED), stamp, {
      noNullPrototype: true,
    });
    fc.assert(
      fc.property(
        meta,
        resolved,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (meta, resolved, localFlag, resolvedFlag, sameTime) => {
          const uploaded: Record<string, number> = {};
          for (const [column, entry] of Object.entries(meta)) {
            if (entry.d === 1) uploaded[column] = sameTime ? entry.t : entry.t - 1;
          }
          const before = acknowledgeThenPatch(meta, uploaded, resolved, localFlag, resolvedFlag);
          const { metadata, takeResolvedValue } = acknowledge(meta, uploaded, resolved, {
            column: DELETED,
            local: localFlag,
            resolved: resolvedFlag,
          });
          const flag = takeResolvedValue.includes(DELETED) ? resolvedFlag : localFlag;
          expect({ metadata, flag }).toStrictEqual(before);
          expect(
            takesResolvedDeletion(
              { column: DELETED, local: localFlag, resolved: resolvedFlag },
              resolved,
            ),
          ).toBe(resolved[DELETED] !== undefined && resolvedFlag && !localFlag);
        },
      ),
      RUNS,
    );
  });

  it("takes the server's deletion over a newer dirty not-deleted flag", () => {
    const { metadata, takeResolvedValue } = acknowledge(
      { [DELETED]: { t: 9, c: 'me', d: 1 } },
      {},
      { [DELETED]: { t: 1, c: 'other' } },
      { column: DELETED, local: false, resolved: true },
    );
    expect(takeResolvedValue).toEqual([DELETED]);
    expect(metadata).toStrictEqual({ [DELETED]: { t: 1, c: 'other' } });
  });
});
