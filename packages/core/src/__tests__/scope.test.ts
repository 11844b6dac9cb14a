import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bigint,
  boolean,
  defineSyncConfig,
  jsonb,
  numeric,
  type ResolvedTable,
  scopeMiss,
  scopeValueKey,
  table,
  text,
  timestamptz,
  uuid,
} from '../index.ts';

const config = defineSyncConfig({
  tables: {
    item: table(
      { plural: 'items' },
      {
        owner_id: text().immutable(),
        team: uuid().immutable(),
        published: boolean().default(false),
        price: numeric().nullable(),
        count: bigint().nullable(),
        at: timestamptz().nullable(),
        doc: jsonb().nullable(),
      },
    ),
  },
  syncGroups: {
    mine: { item: { restrictTo: { column: 'owner_id', context: 'userId' } } },
    team_public: {
      item: { restrictTo: { column: 'team', context: 'teamId' }, filter: { published: true } },
    },
  },
});
const item = config.tables.item as ResolvedTable;
const column = (name: string) => item.column[name]!;

describe('scopeValueKey: equal in PostgreSQL exactly when the keys are equal', () => {
  it.each([
    ['price', '1.50', '1.5'],
    ['price', '0.000', '0'],
    ['count', '0', '0'],
    ['team', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ['at', '2026-11-25T17:41:05.1+02:00', '2026-11-25T15:41:05.100000Z'],
    ['doc', { b: 1, a: [1, { d: 2, c: 3 }] }, { a: [1, { c: 3, d: 2 }], b: 1 }],
  ])('%s: %j equals %j', (name, a, b) => {
    expect(scopeValueKey(column(name), a as never)).toBe(scopeValueKey(column(name), b as never));
  });

  it.each([
    ['price', '1.5', '1.51'],
    ['owner_id', 'alice', 'Alice'],
    ['doc', [1, 2], [2, 1]],
    ['published', true, false],
  ])('%s: %j differs from %j', (name, a, b) => {
    expect(scopeValueKey(column(name), a as never)).not.toBe(
      scopeValueKey(column(name), b as never),
    );
  });

  it('null is its own key; a value outside the type equals only itself', () => {
    expect(scopeValueKey(column('price'), null)).toBe(scopeValueKey(column('doc'), null));
    expect(scopeValueKey(column('price'), 'NaN')).not.toBe(scopeValueKey(column('price'), '0'));
    expect(scopeValueKey(column('owner_id'), 'null')).not.toBe(
      scopeValueKey(column('owner_id'), null),
    );
  });

  it('decimals with trailing zeros in the fraction key alike, whatever their scale', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.nat(6), (n, zeros) => {
        const text = n.toString();
        expect(scopeValueKey(column('price'), `${text}.${'0'.repeat(zeros + 1)}`)).toBe(
          scopeValueKey(column('price'), text),
        );
      }),
    );
  });
});

describe('scopeMiss: the one scope check of the server and the client', () => {
  const values = (row: Record<string, unknown>) => (name: string) => row[name] as never;
  const mine = config.groups.mine.table['item']!;
  const teamPublic = config.groups.team_public.table['item']!;
  const team = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';

  it('a restricted row is in scope for its owner only', () => {
    const row = values({ owner_id: 'alice' });
    expect(scopeMiss(mine, { userId: 'alice' }, row)).toBeUndefined();
    expect(scopeMiss(mine, { userId: 'bob' }, row)).toMatchObject({
      reason: 'restriction',
      column: { name: 'owner_id' },
    });
    // No context value: nobody's row.
    expect(scopeMiss(mine, {}, row)).toMatchObject({ reason: 'restriction' });
  });

  it('a restricted and filtered row needs both, uuids compared in any case', () => {
    const published = values({ team: team.toUpperCase(), published: true });
    expect(scopeMiss(teamPublic, { teamId: team }, published)).toBeUndefined();
    const hidden = values({ team, published: false });
    expect(scopeMiss(teamPublic, { teamId: team }, hidden)).toMatchObject({
      reason: 'filter',
      column: { name: 'published' },
    });
  });
});
