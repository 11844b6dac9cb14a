import {
  encodeWireValue,
  isStorableText,
  type JsonValue,
  nonFiniteAsText,
  type ResolvedColumn,
  type ResolvedTable,
  wireValueOfPg,
} from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { everyKindConfig } from '@carburetor/testing/every-kind';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { wireValueSql } from '../download/wire-value-sql.ts';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { pgValueSql } from '../upload/merge-sql.ts';

// A column value's wire form is said once in core (protocol/value-codec.ts)
// and once in SQL: a download page's values are built inside PostgreSQL
// (download/wire-value-sql.ts). These properties run the SQL on a real
// PostgreSQL against core's encoders, for every column kind.

const config = everyKindConfig('wire_samples');
const sample = config.tables.sample as ResolvedTable;
/** Every synced column: one of each kind, and the deleted flag. */
const columns: ResolvedColumn[] = sample.syncedColumns.map((name) => sample.column[name]!);

const database = await createTestDatabase('wire-value-property');
const db = createPgKysely<unknown>(database.url);

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

const digits = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const decimal = fc
  .tuple(fc.boolean(), digits(1, 40), fc.option(digits(1, 30), { nil: undefined }))
  .map(([negative, whole, fraction]) => {
    const w = whole.replace(/^0+(?=\d)/, '');
    const text = fraction === undefined ? w : `${w}.${fraction}`;
    return negative && !/^[0.]+$/.test(text) ? `-${text}` : text;
  });
const day = fc
  .date({
    min: new Date('0001-01-01T00:00:00Z'),
    max: new Date('9999-12-31T00:00:00Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString().slice(0, 10));
const instant = fc
  .tuple(
    fc.date({
      min: new Date('0001-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    }),
    fc.integer({ min: 0, max: 999 }),
  )
  .map(([d, micros]) => `${d.toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`);
// JSON has no -0 (JSON.stringify writes 0 at any depth): values as JSON text can hold them.
const json = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => !JSON.stringify(v).includes('\\u0000'));

/** App values of every synced column, null included; edges mixed in. */
const appValues: fc.Arbitrary<Record<string, unknown>> = fc.record({
  t: fc
    .option(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constant('é🚗\n\t"\'\\')))
    .map((v) => (typeof v === 'string' && !isStorableText(v) ? '' : v)),
  b: fc.option(fc.boolean()),
  i: fc.option(fc.integer()),
  big: fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
  d: fc.option(
    fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(Number.MAX_VALUE, Number.MIN_VALUE, -0, 0.1, 1e-310),
    ),
  ),
  n: fc.option(fc.oneof(decimal, fc.constantFrom('0', '0.000', '1.50', '-0.5'))),
  day: fc.option(fc.oneof(day, fc.constantFrom('0001-01-01', '9999-12-31', '2024-02-29'))),
  at: fc.option(
    fc.oneof(
      instant,
      fc.constantFrom('0001-01-01T00:00:00.000000Z', '9999-12-31T23:59:59.999999Z'),
    ),
  ),
  doc: fc.option(json),
  u: fc.option(fc.uuid().map((u) => u.toUpperCase())),
  bytes: fc.option(fc.uint8Array({ maxLength: 64 })),
  is_deleted: fc.option(fc.boolean()),
});

/** What JSON carries: -0 as 0, object keys unordered (jsonb reorders them). */
const onTheWire = (wire: JsonValue): unknown => JSON.parse(JSON.stringify(wire));

/** A row of the given wire values as PostgreSQL holds them, read as a page does and as the driver returns it. */
async function readBack(
  wires: Record<string, JsonValue>,
): Promise<{ page: Record<string, unknown>; raw: Record<string, unknown> }> {
  // Typed as a table's column is (the upload's SQL leaves a null untyped).
  const stored = columns.map(
    (column) =>
      sql`cast(${pgValueSql(column, wires[column.name]!)} as ${sql.raw(column.type.pg)}) as ${sql.ref(column.name)}`,
  );
  const items = columns.flatMap((column, n) => [
    sql`${wireValueSql(column)} as ${sql.ref(`v${n}`)}`,
    sql.ref(column.name),
  ]);
  const { rows } = await sql<Record<string, unknown>>`
    select ${sql.join(items)} from (select ${sql.join(stored)}) as stored`.execute(db);
  const row = rows[0]!;
  const page: Record<string, unknown> = {};
  const raw: Record<string, unknown> = {};
  columns.forEach((column, n) => {
    page[column.name] = row[`v${n}`];
    raw[column.name] = row[column.name];
  });
  return { page, raw };
}

describe('wire values in SQL, property', () => {
  it("a download page's SQL and core's encoders give every kind's value the same wire form", async () => {
    await fc.assert(
      fc.asyncProperty(appValues, async (values) => {
        const wires: Record<string, JsonValue> = {};
        for (const column of columns)
          wires[column.name] = encodeWireValue(column, values[column.name]);
        const { page, raw } = await readBack(wires);
        for (const column of columns) {
          const expected = onTheWire(wires[column.name]!);
          // The page's SQL, then what the page does to a double in JavaScript.
          const sent =
            column.kind === 'double'
              ? nonFiniteAsText(page[column.name] as JsonValue)
              : page[column.name];
          expect({ column: column.name, sql: onTheWire(sent as JsonValue) }).toEqual({
            column: column.name,
            sql: expected,
          });
          // An upload answer's encoding of the same stored value.
          expect({
            column: column.name,
            js: onTheWire(wireValueOfPg(column, raw[column.name])),
          }).toEqual({
            column: column.name,
            js: expected,
          });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a value outside the domain (an outside write) goes as the same text both ways', async () => {
    const outside: [kind: string, literal: string][] = [
      ['date', 'infinity'],
      ['date', '-infinity'],
      ['date', '0044-03-15 BC'],
      ['timestamptz', 'infinity'],
      ['timestamptz', '-infinity'],
      ['timestamptz', '0044-03-15 12:00:00+00 BC'],
      ['double precision', 'NaN'],
      ['double precision', 'Infinity'],
      ['double precision', '-Infinity'],
    ];
    for (const [type, literal] of outside) {
      const column = columns.find((c) => c.type.pg === type)!;
      const { rows } = await sql<{ page: unknown; raw: unknown }>`
        select ${wireValueSql(column)} as page, ${sql.ref(column.name)} as raw
        from (select cast(${literal} as ${sql.raw(type)}) as ${sql.ref(column.name)}) as stored`.execute(
        db,
      );
      const { page, raw } = rows[0]!;
      const sent = column.kind === 'double' ? nonFiniteAsText(page as JsonValue) : page;
      expect({ literal, sent }).toEqual({ literal, sent: wireValueOfPg(column, raw) });
      expect(column.type.checkWire(sent)).toBeDefined();
    }
  });
});
