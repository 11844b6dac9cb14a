import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkValue, columnTypes, isStorableText, type ResolvedTable } from '@carburetor/core';
import { createPgKysely, createSyncRouter, migrateServer } from '@carburetor/server';
import { createTestDatabase } from '@carburetor/testing';
import { everyKindConfig } from '@carburetor/testing/every-kind';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncClient } from '../client/create-sync-client.ts';
import { memoryDriver } from '../node/index.ts';

/**
 * The value domain of each column kind (core's checks): every value core
 * accepts must come back unchanged from the replica that wrote it, from
 * PostgreSQL, and from another replica that downloaded it.
 */
const config = everyKindConfig('domain_samples');
const sample = config.tables.sample as ResolvedTable;
type Values = Record<string, unknown>;

const storableText = fc.string({ unit: 'binary', maxLength: 40 }).filter(isStorableText);
const digits = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const decimal = fc
  .tuple(fc.boolean(), digits(1, 40), fc.option(digits(1, 30), { nil: undefined }))
  .map(([negative, whole, fraction]) => {
    const w = whole.replace(/^0+(?=\d)/, '');
    const text = fraction === undefined ? w : `${w}.${fraction}`;
    return negative && !/^[0.]+$/.test(text) ? `-${text}` : text;
  });
// JSON has no -0 (JSON.stringify writes 0, at any depth, on every side): values as JSON text
// can hold them. NUL is not storable.
const json: fc.Arbitrary<unknown> = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => !JSON.stringify(v).includes('\\u0000'));
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

const edges = {
  t: ['', 'é🚗\n\t"\'\\', 'x'.repeat(10_000)],
  b: [true, false],
  i: [-2147483648, 2147483647, 0],
  big: ['-9223372036854775808', '9223372036854775807', '0', '9007199254740993'],
  d: [Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 0.1, 1e-310, 2 ** 53 + 2],
  n: ['0', '0.000', '1.50', `${'9'.repeat(1000)}.${'1'.repeat(1000)}`, '-0.5'],
  day: ['0001-01-01', '9999-12-31', '2024-02-29', '1582-10-10'],
  at: ['0001-01-01T00:00:00.000000Z', '9999-12-31T23:59:59.999999Z', '1970-01-01T00:00:00.000000Z'],
  doc: [{ a: [1, 2.5, 'x', null, true], b: {} }, [], 'text', 1e21, 5e-324, null],
  u: ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  bytes: [new Uint8Array(), new Uint8Array(256).map((_, k) => k)],
};
const withEdges = <T>(name: keyof typeof edges, arbitrary: fc.Arbitrary<T>) =>
  fc.oneof(fc.constantFrom(...(edges[name] as T[])), arbitrary, fc.constant(null));

const row: fc.Arbitrary<Values> = fc.record({
  t: withEdges('t', storableText),
  b: withEdges('b', fc.boolean()),
  i: withEdges('i', fc.integer()),
  big: withEdges('big', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
  d: withEdges(
    'd',
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => n + 0),
  ),
  n: withEdges('n', decimal),
  day: withEdges('day', day),
  at: withEdges('at', instant),
  doc: withEdges('doc', json),
  u: withEdges('u', fc.uuid()),
  bytes: withEdges('bytes', fc.uint8Array({ maxLength: 64 })),
});

const database = await createTestDatabase('value-domains');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
let server: Server;
let url = '';

async function openClient() {
  const trpcClient = createTRPCClient<AnyRouter>({ links: [httpLink({ url })] });
  return createSyncClient(config, { driver: memoryDriver(), trpcClient, groups: ['all'] });
}

beforeAll(async () => {
  await migrateServer(db, config);
  server = createHTTPServer({ router: createSyncRouter(config, { db }) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await db.destroy();
  await database.drop();
});

/** A row's synced values as the app reads them back from a replica. */
async function replicaValues(client: Awaited<ReturnType<typeof openClient>>, id: string) {
  const found = await client.db
    .selectFrom('domain_samples')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return Object.fromEntries(sample.dataColumns.map((c) => [c.name, (found as Values)[c.name]]));
}

/** A row's values as PostgreSQL holds them, read through the type mapping. */
async function serverValues(id: string) {
  const found = await db
    .selectFrom('domain_samples')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return Object.fromEntries(
    sample.dataColumns.map((c) => {
      const raw = (found as Values)[c.name];
      return [c.name, raw === null ? null : columnTypes[c.kind].fromPg(raw)];
    }),
  );
}

describe('value domains: what core accepts, every store keeps unchanged', () => {
  it('round-trips generated values, edges included, through a replica, PostgreSQL and another replica', async () => {
    const writer = await openClient();
    const reader = await openClient();
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 8 }), async (rows) => {
          const written: { id: string; values: Values }[] = [];
          for (const values of rows) {
            // Only what core accepts is in the domain; the arbitraries should give nothing else.
            for (const column of sample.dataColumns) {
              const check = checkValue(column, values[column.name]);
              expect(check.ok, `${column.name}: ${check.ok ? '' : check.message}`).toBe(true);
            }
            const id = `r${n++}`;
            await writer.insertSample({ id, ...values } as never);
            written.push({ id, values });
          }
          await writer.sync();
          await reader.sync();
          for (const { id, values } of written) {
            expect(await replicaValues(writer, id)).toEqual(values);
            expect(await serverValues(id)).toEqual(values);
            expect(await replicaValues(reader, id)).toEqual(values);
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('writes canonical forms: leading zeros and the sign of zero dropped, as PostgreSQL would', async () => {
    const client = await openClient();
    try {
      await client.insertSample({ id: 'canon', big: '-0', n: '007.50', d: -0, i: -0 } as never);
      const local = await replicaValues(client, 'canon');
      expect(local).toMatchObject({ big: '0', n: '7.50', d: 0, i: 0 });
      expect(Object.is(local['d'], -0)).toBe(false);
      await client.sync();
      expect(await serverValues('canon')).toMatchObject({ big: '0', n: '7.50', d: 0, i: 0 });
    } finally {
      await client.close();
    }
  });

  it.each([
    ['day', 'year 0', '0000-01-01', /outside the years 0001-9999/],
    ['at', 'year 10000 in UTC', '9999-12-31T23:59:59.999999-14:00', /timestamp/],
    ['at', 'year 0', '0000-12-31T23:00:00Z', /timestamp/],
    ['n', '131,073 whole digits', '9'.repeat(131_073), /131073 digits before the point/],
    ['n', '16,384 fraction digits', `0.${'1'.repeat(16_384)}`, /16384 digits after the point/],
    ['n', 'NaN', 'NaN', /decimal number/],
    ['big', '2^63', '9223372036854775808', /64-bit/],
    ['d', 'NaN', Number.NaN, /finite/],
    ['d', 'Infinity', Number.POSITIVE_INFINITY, /finite/],
    ['t', 'a NUL', 'a\u0000b', /NUL/],
    ['t', 'a lone surrogate', 'a\ud800b', /lone surrogate/],
    ['doc', 'a NUL inside', { k: 'a\u0000' }, /JSON value/],
  ])('refuses %s: %s at the local write, changing nothing', async (column, _, value, message) => {
    const client = await openClient();
    try {
      await expect(client.insertSample({ id: 'bad', [column]: value } as never)).rejects.toThrow(
        message,
      );
      const rows = await client.db.selectFrom('domain_samples').select('id').execute();
      expect(rows).toEqual([]);
      expect(client.status.pendingCount).toBe(0);
    } finally {
      await client.close();
    }
  });
});
