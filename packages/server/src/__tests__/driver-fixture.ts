import { type Kysely, sql } from 'kysely';

/** Test-only schema shared by the pg and PGlite driver tests. */
export interface Samples {
  id: number;
  big: string;
  num: string;
  day: string;
  at: string;
  at_local: string;
  doc: unknown;
  bytes: Uint8Array;
  flag: boolean;
  note: string;
  ratio: number;
  big_list: Array<string | null>;
  days: Array<string | null>;
}

export interface Events {
  name: string;
}

export interface TestSchema {
  samples: Samples;
  events: Events;
}

export const SAMPLE_DOC = { a: [1, 'x', { b: null }], 'quote"s': "it's", nested: { deep: true } };
export const SAMPLE_NOTE = `it's "quoted" \\ back, 'twice'' and emoji 🚗`;

/** The row written, with timestamp inputs in forms other than what comes back. */
export const sampleInput = {
  id: 1,
  big: '9007199254740993',
  num: '123456789012345678901234567890.123456789',
  day: '2024-02-29',
  at: '2024-03-10T14:34:56.123456+02:00',
  at_local: '2024-03-10 12:34:56.654321',
  doc: JSON.stringify(SAMPLE_DOC),
  bytes: Uint8Array.from([0, 1, 127, 128, 254, 255]),
  flag: true,
  note: SAMPLE_NOTE,
  ratio: 0.1,
  big_list: ['1', '9007199254740993', null],
  days: ['2024-01-01', null],
};

/** What must come back, byte for byte, from either driver. */
export const sampleOutput = {
  id: 1,
  big: '9007199254740993',
  num: '123456789012345678901234567890.123456789',
  day: '2024-02-29',
  at: '2024-03-10 12:34:56.123456+00',
  at_local: '2024-03-10 12:34:56.654321',
  doc: SAMPLE_DOC,
  flag: true,
  note: SAMPLE_NOTE,
  ratio: 0.1,
  big_list: ['1', '9007199254740993', null],
  days: ['2024-01-01', null],
};

export async function createTestTables(db: Kysely<TestSchema>): Promise<void> {
  await db.schema
    .createTable('samples')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('big', 'bigint')
    .addColumn('num', 'numeric')
    .addColumn('day', 'date')
    .addColumn('at', 'timestamptz')
    .addColumn('at_local', 'timestamp')
    .addColumn('doc', 'jsonb')
    .addColumn('bytes', 'bytea')
    .addColumn('flag', 'boolean')
    .addColumn('note', 'text')
    .addColumn('ratio', 'double precision')
    .addColumn('big_list', sql`bigint[]`)
    .addColumn('days', sql`date[]`)
    .execute();
  await db.schema.createTable('events').addColumn('name', 'text').execute();
}

/** Literal SQL values, so parsing is checked apart from how parameters are sent. */
export const literalSelect = sql<Record<string, unknown>>`select
  9007199254740993::int8 as big,
  '123456789012345678901234567890.123456789'::numeric as num,
  '2024-02-29'::date as day,
  '2024-03-10 14:34:56.123456+02'::timestamptz as at,
  '{"k": [1, 2.5, "v"]}'::jsonb as doc,
  '{"k": 1}'::json as plain_json,
  '\\x00ff'::bytea as bytes,
  false as flag,
  ${SAMPLE_NOTE}::text as note,
  '{"{\\"a\\": 1}",NULL}'::jsonb[] as docs,
  array['a,b', 'c"d', 'NULL', null]::text[] as texts,
  array[[1, 2], [3, 4]]::int4[] as grid,
  'NaN'::float8 as nan,
  42::int4 as int4`;

export const literalOutput = {
  big: '9007199254740993',
  num: '123456789012345678901234567890.123456789',
  day: '2024-02-29',
  at: '2024-03-10 12:34:56.123456+00',
  doc: { k: [1, 2.5, 'v'] },
  plain_json: { k: 1 },
  flag: false,
  note: SAMPLE_NOTE,
  docs: [{ a: 1 }, null],
  texts: ['a,b', 'c"d', 'NULL', null],
  grid: [
    [1, 2],
    [3, 4],
  ],
  nan: Number.NaN,
  int4: 42,
};
