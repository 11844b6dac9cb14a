import { type ColumnState, mayBecome, mergeDeletedFlag, type WriteStamp } from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { deletedFlagWins } from '../upload/merge-sql.ts';
import { uploadConfig } from './upload-config.ts';

// The deleted flag's rule is said once in core (rules/deleted-flag.ts) and
// twice in SQL: the upload merge and the stamp trigger. These properties run
// both SQL forms on a real PostgreSQL against core's functions.

const database = await createTestDatabase('deleted-flag-property');
const db = createPgKysely<unknown>(database.url);

beforeAll(async () => {
  await migrateServer(db, uploadConfig);
});

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

// Small domains, so equal write times and equal stamps are common; client ids
// whose code-unit order differs from a locale's ('B' < 'a', '-' < '_').
const stamp = fc.record(
  {
    t: fc.integer({ min: 1_700_000_000_000_000, max: 1_700_000_000_000_003 }),
    c: fc.constantFrom('a', 'b', 'B', 'a-b', 'a_b', '0', 'server'),
  },
  { noNullPrototype: true },
);
const flag = fc.record({ value: fc.boolean(), stamp }, { noNullPrototype: true });

const jsonb = (value: WriteStamp) => sql`cast(${JSON.stringify(value)} as jsonb)`;
const bool = (value: boolean) => sql`cast(${value} as boolean)`;

describe('the deleted flag in SQL, property', () => {
  it("the upload merge's SQL picks the side core's mergeDeletedFlag picks", async () => {
    await fc.assert(
      fc.asyncProperty(flag, flag, async (stored: ColumnState<boolean>, incoming) => {
        const wins = deletedFlagWins(
          bool(incoming.value),
          bool(stored.value),
          jsonb(incoming.stamp),
          jsonb(stored.stamp),
        );
        const { rows } = await sql<{ wins: boolean }>`select ${wins} as wins`.execute(db);
        const expected = mergeDeletedFlag(stored, incoming) === incoming;
        expect({ stored, incoming, wins: rows[0]!.wins }).toEqual({
          stored,
          incoming,
          wins: expected,
        });
      }),
      { numRuns: 300 },
    );
  });

  let run = 0;

  it("the stamp trigger refuses exactly the writes core's mayBecome refuses", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('same', 'other'),
        async (before, after, name) => {
          const id = `flag-${++run}`;
          await sql`insert into contacts (id, owner_id, name, phone, is_deleted) values (${id}, 'u1', 'same', '1', ${before})`.execute(
            db,
          );
          const update = sql`update contacts set is_deleted = ${after}, name = ${name} where id = ${id}`;
          const refused = await update.execute(db).then(
            () => false,
            (error: unknown) => {
              expect(String(error)).toMatch(/Cannot un-delete row/);
              return true;
            },
          );
          expect({ before, after, refused }).toEqual({
            before,
            after,
            refused: !mayBecome(before, after),
          });
          const { rows } = await sql<{
            is_deleted: boolean;
          }>`select is_deleted from contacts where id = ${id}`.execute(db);
          expect(rows[0]!.is_deleted).toBe(refused ? before : after);
        },
      ),
      { numRuns: 40 },
    );
  });
});
