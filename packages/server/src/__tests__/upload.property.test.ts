import {
  mergeRow,
  PROTOCOL_VERSION,
  type RowState,
  type UploadColumn,
  type UploadRow,
} from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { uploadChanges } from '../upload/upload.ts';
import { at, uploadConfig } from './upload-config.ts';

const database = await createTestDatabase('upload-property');
const db = createPgKysely<unknown>(database.url);

beforeAll(async () => {
  await migrateServer(db, uploadConfig);
});

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

const SYNCED = ['name', 'note', 'published', 'is_deleted'] as const;
const FIXED = { owner_id: 'u1', serial: 'none', phone: '555' };

// Small domains, so equal write times and repeated values are common.
const time = fc.integer({ min: 1, max: 4 }).map((k) => at(k));
const client = fc.constantFrom('a', 'b', 'a-b', 'a_b', '0');
const values = {
  name: fc.constantFrom('x', 'y'),
  note: fc.constantFrom(null, 'n'),
  published: fc.boolean(),
  is_deleted: fc.boolean(),
};
const update = fc
  .record(
    {
      name: values.name,
      note: values.note,
      published: values.published,
      is_deleted: values.is_deleted,
    },
    { requiredKeys: [] },
  )
  .filter((columns) => Object.keys(columns).length > 0)
  .chain((columns) =>
    fc.tuple(...Object.keys(columns).map(() => time)).map((times) => ({
      op: 'update' as const,
      columns: Object.fromEntries(
        Object.entries(columns).map(([name, value], i) => [name, { value, t: times[i]! }]),
      ) as Record<string, UploadColumn>,
    })),
  );
// A retried insert: the whole row, one write time.
const insert = fc
  .tuple(time, values.name, values.note, values.published, values.is_deleted)
  .map(([t, name, note, published, is_deleted]) => ({
    op: 'insert' as const,
    columns: Object.fromEntries(
      Object.entries({ ...FIXED, name, note, published, is_deleted }).map(([k, value]) => [
        k,
        { value, t },
      ]),
    ) as Record<string, UploadColumn>,
  }));
const write = fc.oneof({ arbitrary: update, weight: 3 }, { arbitrary: insert, weight: 1 });
/** Writes, then uploads: each sends one or two of the writes (any order, repeats allowed) from one client. */
const scenario = fc.array(write, { minLength: 1, maxLength: 5 }).chain((writes) =>
  fc.record({
    writes: fc.constant(writes),
    uploads: fc.array(
      fc.record({
        client,
        picks: fc.array(fc.nat({ max: writes.length - 1 }), { minLength: 1, maxLength: 2 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  }),
);

function stateOf(columns: Record<string, UploadColumn>, c: string): RowState {
  const state: RowState = {};
  for (const name of SYNCED) {
    const column = columns[name];
    if (column) state[name] = { value: column.value, stamp: { t: column.t, c } };
  }
  return state;
}

let run = 0;

describe('uploadChanges, property', () => {
  it('ends in the state of core mergeRow folded over the uploaded writes, whatever the order and repeats', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ writes, uploads }) => {
        const id = `prop-${++run}`;
        const first: UploadRow = {
          op: 'insert',
          id,
          columns: Object.fromEntries(
            Object.entries({
              ...FIXED,
              name: 'start',
              note: null,
              published: false,
              is_deleted: false,
            }).map(([k, value]) => [k, { value, t: at(0) }]),
          ),
        };
        const send = (clientId: string, rows: UploadRow[]) =>
          uploadChanges(
            db,
            uploadConfig,
            'mine',
            { protocol: PROTOCOL_VERSION, clientId, tables: { contact: rows } },
            { userId: 'u1' },
          );

        let expected = stateOf(first.columns, 'init');
        await send('init', [first]);
        for (const { client: c, picks } of uploads) {
          const rows = picks.map((i) => ({ ...writes[i]!, id }));
          const response = await send(c, rows);
          expect(response.tables['contact']?.results.every((r) => r.ok)).toBe(true);
          for (const row of rows)
            expected = mergeRow(expected, stateOf(row.columns, c), 'is_deleted');
        }

        const { rows } = await sql<
          Record<string, unknown>
        >`select name, note, published, is_deleted, column_sync_metadata from contacts where id = ${id}`.execute(
          db,
        );
        const stored = rows[0]!;
        const metadata = stored['column_sync_metadata'] as Record<string, unknown>;
        for (const name of SYNCED) {
          expect({ name, value: stored[name], stamp: metadata[name] }).toEqual({
            name,
            value: expected[name]!.value,
            stamp: expected[name]!.stamp,
          });
        }
      }),
      { numRuns: 100 },
    );
  });
});
