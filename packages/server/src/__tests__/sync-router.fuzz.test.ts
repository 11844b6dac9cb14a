import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DownloadResponse, PROTOCOL_VERSION, type UploadResponse } from '@carburetor/core';
import { groupProtocol } from '@carburetor/core/schemas';
import { createTestDatabase } from '@carburetor/testing';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { createChangeHub } from '../realtime/change-hub.ts';
import { createSyncRouter } from '../router/sync-router.ts';
import { migrateServer } from '../schema/migrate.ts';
import {
  answerProblems,
  COLUMN_NAME_EDGES,
  deepArray,
  deepObject,
  digestOf,
  type Edge,
  type Expectation,
  edge,
  errorProblems,
  type FuzzContext,
  firstEvent,
  fuzzContextOf,
  type HttpAnswer,
  httpStatusOf,
  JUNK_VALUES,
  type Labelled,
  labelled,
  MAX_MESSAGE,
  noisyText,
  put,
  type RequestSpec,
  send,
  sendSubscription,
  VALUE_EDGES,
} from './sync-router-fuzz-support.ts';
import { at, contactInsert, uploadConfig } from './upload-config.ts';

/**
 * Every procedure of the sync router over real HTTP, with raw requests: the
 * valid ones, and the valid ones broken at one point (structure, values,
 * cursors, context, methods, batches). Whatever comes in, the answer is
 * never a 5xx, never carries a stack, a raw database message or an
 * unbounded message, and a refused request changes no row.
 *
 * A failure prints fast-check's seed and path; rerun with FUZZ_SEED=<seed>
 * FUZZ_PATH=<path>. FUZZ_COLLECT=1 runs every case and lists each distinct
 * failure once (the test still fails); FUZZ_RUNS=<factor> runs more cases.
 */

const database = await createTestDatabase('router-fuzz');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);
const hub = createChangeHub(uploadConfig, { db });
// No `procedure`: the router's own tRPC instance, whose defaults are what an app gets.
const router = createSyncRouter(uploadConfig, {
  db,
  context: (ctx: FuzzContext) => ({ userId: ctx.user }),
  changes: hub,
});
const server: Server = createHTTPServer({
  router,
  createContext: ({ req }): FuzzContext => fuzzContextOf(req.headers),
});
let base = '';

type Group = 'mine' | 'shared' | 'directory';
type TableKey = 'contact' | 'sample';
const GROUPS: readonly Group[] = ['mine', 'shared', 'directory'];
const GROUP_TABLES: Record<Group, readonly TableKey[]> = {
  mine: ['contact', 'sample'],
  shared: ['contact'],
  directory: ['contact'],
};
const RESTRICTED: Record<Group, boolean> = { mine: true, shared: true, directory: false };
const SQL_TABLES = ['contacts', 'samples'];
const DATA_COLUMNS: Record<TableKey, readonly string[]> = {
  contact: ['owner_id', 'serial', 'name', 'phone', 'note', 'published', 'is_deleted'],
  sample: [
    'owner_id',
    'label',
    'small',
    'big',
    'ratio',
    'amount',
    'day',
    'at',
    'doc',
    'ref',
    'bytes',
    'flag',
    'is_deleted',
  ],
};
const ID_POOL: Record<TableKey, readonly string[]> = {
  contact: ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'],
  sample: ['s1', 's2', 's3', 's4', 's5'],
};
const protocols = Object.fromEntries(GROUPS.map((g) => [g, groupProtocol(uploadConfig, g)]));
const kindOf = (table: TableKey, column: string) =>
  uploadConfig.tables[table].column[column]?.kind ?? 'text';

// ---------------------------------------------------------------------------
// Run control: numbers of runs, reproduction, collecting distinct failures.

const RUN_FACTOR = Number(process.env['FUZZ_RUNS'] ?? '1');
const COLLECT = process.env['FUZZ_COLLECT'] === '1';
const collected = new Map<string, { count: number; examples: string[] }>();

function runOptions(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env['FUZZ_SEED'];
  const path = process.env['FUZZ_PATH'];
  return {
    numRuns: Math.max(1, Math.round(numRuns * RUN_FACTOR)),
    endOnFailure: true,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path } : {}),
  };
}

/** A failure's signature: its text without the values that vary. */
const signatureOf = (problem: string) =>
  problem
    .replace(/\d+/g, 'N')
    .replace(/"[^"]{20,}"/g, '"…"')
    .slice(0, 160);

/** Fails the case (or, collecting, records its problems under their signatures). */
function report(problems: readonly string[], label: string): void {
  if (problems.length === 0) return;
  if (!COLLECT) throw new Error(`${label}\n- ${problems.join('\n- ')}`);
  for (const problem of problems) {
    const key = signatureOf(problem);
    const entry = collected.get(key) ?? { count: 0, examples: [] };
    entry.count++;
    if (entry.examples.length < 4) entry.examples.push(`${label}\n    → ${problem.slice(0, 400)}`);
    collected.set(key, entry);
  }
}

/** How often each answer came, by HTTP status and first SSE event: shown when collecting. */
const statuses = new Map<string, number>();
function count(answer: HttpAnswer): void {
  const event = answer.events ? ` ${firstEvent(answer)?.event ?? 'no event'}` : '';
  const key = `${answer.status}${event}`;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
}

/** In collecting mode: the distinct failures so far, printed, then the test fails if any. */
function expectNoneCollected(): void {
  if (!COLLECT) return;
  console.log(`Answers: ${[...statuses].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  statuses.clear();
  const lines = [...collected.values()].map(
    (e) => `(${e.count}x) ${e.examples.join('\n  also: ')}`,
  );
  collected.clear();
  if (lines.length > 0) console.log(`Distinct failures:\n${lines.join('\n\n')}`);
  expect(lines).toEqual([]);
}

// ---------------------------------------------------------------------------
// Contexts: what the app's auth could hand the router.

interface ContextEdge extends Labelled {
  readonly headers: Record<string, string>;
  /** The owner a row in the caller's scope carries. */
  readonly owner: string;
  /** Whether a restricted group must accept it (true), refuse it (false), or either. */
  readonly valid: boolean | undefined;
}

/** JSON with every non-ASCII character escaped, so it fits in a header. */
const asciiJson = (value: unknown) =>
  JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

const ctx = (
  label: string,
  headers: Record<string, string>,
  owner: string,
  valid: boolean | undefined,
): ContextEdge => labelled({ headers, owner, valid }, `user ${label}`);
const jsonUser = (label: string, value: string | number | null, valid: boolean | undefined) =>
  ctx(label, { 'x-user-json': asciiJson(value) }, String(value), valid);

const U1 = ctx('u1', { 'x-user': 'u1' }, 'u1', true);
const U2 = ctx('u2', { 'x-user': 'u2' }, 'u2', true);
const NOISY_USER = noisyText(2_000, 11);
const CONTEXTS: readonly ContextEdge[] = [
  ctx('missing', {}, 'u1', false),
  jsonUser('null', null, false),
  jsonUser('""', '', undefined),
  jsonUser('"u1\\0" (NUL)', 'u1\u0000', false),
  jsonUser('"\\0"', '\u0000', false),
  jsonUser('"\\uD800" (lone surrogate)', '\uD800', false),
  jsonUser('"u\\uDFFF" (lone surrogate)', 'u\uDFFF', false),
  jsonUser('" u1 "', ' u1 ', undefined),
  jsonUser('of 2,000 noisy chars', NOISY_USER, undefined),
  ctx(
    '"a" x 1,000,000',
    { 'x-user': 'a', 'x-user-repeat': '1000000' },
    'a'.repeat(1_000_000),
    undefined,
  ),
  ctx('"é" (a latin-1 header byte)', { 'x-user': 'é' }, 'é', undefined),
  jsonUser('0', 0, undefined),
  jsonUser('-0', -0, undefined),
  jsonUser('1.5', 1.5, undefined),
  jsonUser('1e308', 1e308, undefined),
  jsonUser('-1e308', -1e308, undefined),
  ctx('2^53+1', { 'x-user-json': '9007199254740993' }, String(2 ** 53), undefined),
  jsonUser('5e-324', 5e-324, undefined),
  ctx('NaN', { 'x-user-num': 'NaN' }, 'u1', false),
  ctx('Infinity', { 'x-user-num': 'Infinity' }, 'u1', false),
  ctx('-Infinity', { 'x-user-num': '-Infinity' }, 'u1', false),
];
const contextArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(U1, U2) },
  { weight: 2, arbitrary: fc.constantFrom(...CONTEXTS) },
);

/** The weaker of two expectations: a refusal wins, then "anything", then success. */
function combine(a: Expectation, b: Expectation): Expectation {
  if (a === 'refused' || b === 'refused') return 'refused';
  if (a === 'any' || b === 'any') return 'any';
  return a === 'ok' || b === 'ok' ? (a === 'row' || b === 'row' ? 'row' : 'ok') : 'row';
}

function contextExpectation(group: Group, context: ContextEdge): Expectation {
  if (!RESTRICTED[group] || context.valid === true) return 'ok';
  return context.valid === false ? 'refused' : 'any';
}

// ---------------------------------------------------------------------------
// Requests in the making, and the mutations that break them at one point.

interface Draft {
  group: Group;
  body: Record<string, unknown>;
  tables: Record<string, unknown>;
  table: string;
  /** Upload: the one row. Download: the first table's entry. */
  row: Record<string, unknown>;
  /** Upload: the row's columns. */
  columns: Record<string, unknown>;
  t: number;
  headers: Record<string, string>;
  /** Replaces the JSON body. */
  raw: string | Uint8Array<ArrayBuffer> | undefined;
}

interface Mutation extends Labelled {
  readonly expect: Expectation;
  /** `json`: changes the body's JSON only (can go in a batch); `http`: the body text or headers. */
  readonly level: 'json' | 'http';
  apply(draft: Draft): void;
}

const mutation = (
  label: string,
  expect: Expectation,
  apply: (draft: Draft) => void,
  level: 'json' | 'http' = 'json',
): Mutation => labelled({ expect, level, apply }, label);

const OMIT = Symbol('omit');
function setOrOmit(target: Record<string, unknown>, key: string, value: unknown) {
  if (value === OMIT) delete target[key];
  else put(target, key, value);
}

/** The first column an upload row carries (`name` added when it carries none). */
function firstColumn(d: Draft): Record<string, unknown> {
  const name = Object.keys(d.columns)[0];
  if (name !== undefined) return d.columns[name] as Record<string, unknown>;
  const column = { value: 'Ann', t: d.t };
  put(d.columns, 'name', column);
  return column;
}

const CLIENT_ID_EDGES: readonly Edge[] = [
  edge('""', () => '', 'refused'),
  edge('"server"', () => 'server', 'refused'),
  edge('"Client" (upper case)', () => 'Client', 'refused'),
  edge('64 chars', () => 'a'.repeat(64), 'ok'),
  edge('65 chars', () => 'a'.repeat(65), 'refused'),
  edge('1,000,000 chars', () => 'a'.repeat(1_000_000), 'refused'),
  edge('"a\\0"', () => 'a\u0000', 'refused'),
  edge('"\\uD800"', () => '\uD800', 'refused'),
  edge('"é"', () => 'é', 'refused'),
  edge('" a"', () => ' a', 'refused'),
  edge('"-"', () => '-', 'ok'),
  edge('"_"', () => '_', 'ok'),
  edge('123', () => 123, 'refused'),
  edge('null', () => null, 'refused'),
  edge('["a"]', () => ['a'], 'refused'),
];

const PROTOCOL_EDGES: readonly Edge[] = [
  edge('0', () => 0),
  edge('4', () => 4), // 3 is spoken since this release
  edge('"1"', () => '1'),
  edge('null', () => null),
  edge('1.0000001', () => 1.0000001),
  edge('-1', () => -1),
  edge('1e308', () => 1e308),
  edge('true', () => true),
  edge('[1]', () => [1]),
];

/** Config identities that are not one (protocol 3): 16 lowercase hex digits or nothing. */
const CONFIG_EDGES: readonly Edge[] = [
  edge('""', () => ''),
  edge('upper case', () => 'FFFFFFFFFFFFFFFF'),
  edge('15 digits', () => 'fffffffffffffff'),
  edge('a number', () => 1234567890123456),
  edge('null', () => null),
  edge('an object', () => ({ identity: 'ffffffffffffffff' })),
];

const EXTRA_KEYS = ['x', '__proto__', 'constructor', 'stack', ''];

/** Structural junk for a node of the request. `{}`, `[]` and null may be valid somewhere. */
const NODE_JUNK: readonly Edge[] = [
  edge('null', () => null, 'any'),
  edge('[]', () => [], 'any'),
  edge('{}', () => ({}), 'any'),
  edge('1', () => 1, 'refused'),
  edge('-1.5', () => -1.5, 'refused'),
  edge('true', () => true, 'refused'),
  edge('[1]', () => [1], 'refused'),
  edge('{"a": 1}', () => ({ a: 1 }), 'refused'),
  edge('[[[... 1,000 deep', () => JSON.parse(deepArray(1_000)), 'refused'),
  edge('{"a":{"a":... 1,000 deep', () => JSON.parse(deepObject(1_000)), 'refused'),
  edge('"x" x 100,000', () => 'x'.repeat(100_000), 'refused'),
];

const RAW_BODIES: readonly Edge<string | Uint8Array<ArrayBuffer>>[] = [
  edge('empty body', () => ''),
  edge('"nope"', () => 'nope'),
  edge('"{"', () => '{'),
  edge('truncated JSON', () => '{"protocol":1,"clientId":"c","tables":{'),
  edge('"null"', () => 'null'),
  edge('"1"', () => '1'),
  edge('"\\"x\\""', () => '"x"'),
  edge('"true"', () => 'true'),
  edge('"[]"', () => '[]'),
  edge('"[{}]"', () => '[{}]'),
  edge('two JSON documents', () => '{}{}'),
  edge('bytes ff fe 00', () => new Uint8Array([0xff, 0xfe, 0x00, 0x7b])),
  edge('[ x 10,000', () => deepArray(10_000)),
  edge('{"a": x 10,000', () => deepObject(10_000)),
  edge('{"0": ...} (a batch body, unbatched)', () => '{"0":{"protocol":1}}'),
  edge('array of 100,000 zeros', () => `[${new Array(100_000).fill(0).join(',')}]`),
  edge('a number of 100,000 digits', () => '1'.repeat(100_000)),
  edge('a 1,000,000-char string', () => `"${'a'.repeat(1_000_000)}"`),
  edge('a lone surrogate escape', () => '"\\ud800"'),
];

const CONTENT_TYPES: readonly Edge<string | undefined>[] = [
  edge('no content-type', () => undefined),
  edge('text/plain', () => 'text/plain'),
  edge('application/x-www-form-urlencoded', () => 'application/x-www-form-urlencoded'),
  edge('multipart/form-data; boundary=x', () => 'multipart/form-data; boundary=x'),
  edge('application/octet-stream', () => 'application/octet-stream'),
  edge('application/json; charset=utf-16', () => 'application/json; charset=utf-16'),
  edge('application/jsonl', () => 'application/jsonl'),
];

/** Mutations that make sense for both uploads and downloads. */
function commonMutations(): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.constantFrom(...CLIENT_ID_EDGES).map((e) =>
      mutation(`clientId = ${e.label}`, e.expect ?? 'any', (d) => {
        d.body['clientId'] = e.make();
      }),
    ),
    fc.constantFrom(...PROTOCOL_EDGES).map((e) =>
      mutation(`protocol = ${e.label}`, 'refused', (d) => {
        d.body['protocol'] = e.make();
      }),
    ),
    fc.constantFrom(...CONFIG_EDGES).map((e) =>
      mutation(`config = ${e.label}`, 'refused', (d) => {
        d.body['config'] = e.make();
      }),
    ),
    fc.constantFrom('protocol', 'clientId', 'tables').map((key) =>
      mutation(`without ${key}`, 'refused', (d) => {
        delete d.body[key];
      }),
    ),
    fc.constantFrom(...EXTRA_KEYS).map((key) =>
      mutation(`extra top-level field ${JSON.stringify(key)}`, 'refused', (d) => {
        put(d.body, key, 1);
      }),
    ),
    fc
      .constantFrom('nope', '__proto__', 'constructor', 'toString', '', 'Contact', 'contacts')
      .map((key) =>
        mutation(`unknown table ${JSON.stringify(key)}`, 'refused', (d) => {
          put(d.tables, key, d.tables[d.table]);
        }),
      ),
    fc.constantFrom(...NODE_JUNK).map((e) =>
      mutation(`tables = ${e.label}`, e.expect ?? 'any', (d) => {
        d.body['tables'] = e.make();
      }),
    ),
    fc.constantFrom(...RAW_BODIES).map((e) =>
      mutation(
        `body = ${e.label}`,
        'refused',
        (d) => {
          d.raw = e.make();
        },
        'http',
      ),
    ),
    fc.jsonValue({ maxDepth: 3 }).map((value) =>
      mutation(
        `body = ${JSON.stringify(value).slice(0, 80)}`,
        'refused',
        (d) => {
          d.raw = JSON.stringify(value) ?? 'null';
        },
        'http',
      ),
    ),
    fc.constantFrom(...CONTENT_TYPES).map((e) =>
      mutation(
        `content-type: ${e.label}`,
        'any',
        (d) => {
          const type = e.make();
          if (type === undefined) delete d.headers['content-type'];
          else d.headers['content-type'] = type;
        },
        'http',
      ),
    ),
    fc.constant(
      mutation(
        'accept: application/jsonl',
        'any',
        (d) => {
          d.headers['accept'] = 'application/jsonl';
        },
        'http',
      ),
    ),
  );
}

// ---------------------------------------------------------------------------
// Uploads.

const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 4 });
const shortText = fc.string({ maxLength: 12 });
const someDate = fc.date({
  min: new Date('0001-01-01T00:00:00.000Z'),
  max: new Date('9999-12-31T23:59:59.999Z'),
  noInvalidDate: true,
});
const rarelyTrue = fc.oneof(
  { weight: 9, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);
const VALID_VALUES: Record<TableKey, fc.Arbitrary<Record<string, unknown>>> = {
  contact: fc.record({
    serial: fc.constant('none'),
    name: fc.string({ minLength: 1, maxLength: 12 }),
    phone: shortText,
    note: nullable(shortText),
    published: fc.boolean(),
    is_deleted: rarelyTrue,
  }),
  sample: fc.record({
    label: shortText,
    small: nullable(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    big: nullable(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)),
    ratio: nullable(fc.double({ noNaN: true, noDefaultInfinity: true })),
    amount: nullable(
      fc
        .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.nat(999_999))
        .map(([whole, part]) => `${whole}.${part}`),
    ),
    day: nullable(someDate.map((d) => d.toISOString().slice(0, 10))),
    at: nullable(someDate.map((d) => d.toISOString())),
    doc: nullable(fc.jsonValue({ maxDepth: 3 })),
    ref: nullable(fc.uuid()),
    bytes: nullable(fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b).toString('base64'))),
    flag: nullable(fc.boolean()),
    is_deleted: rarelyTrue,
  }),
};

const WRITE_TIME_EDGES: readonly Edge<(now: number) => unknown>[] = [
  edge('0', () => () => 0, 'row'),
  edge('-0', () => () => -0, 'row'),
  edge('-1', () => () => -1, 'refused'),
  edge('1.5', () => () => 1.5, 'refused'),
  edge('2^53', () => () => 2 ** 53, 'refused'),
  edge('2^53-1 (far future)', () => () => Number.MAX_SAFE_INTEGER, 'row'),
  edge('1e308', () => () => 1e308, 'refused'),
  edge('"1"', () => () => '1', 'refused'),
  edge('null', () => () => null, 'refused'),
  edge('11 s ahead of now', () => (now) => now + 11_000_000, 'row'),
];

function uploadMutations(table: TableKey): fc.Arbitrary<Mutation> {
  const dataColumns = DATA_COLUMNS[table];
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(fc.constantFrom(...dataColumns), fc.nat()).map(([column, n]) => {
        const edges = [...(VALUE_EDGES[kindOf(table, column)] ?? []), ...JUNK_VALUES];
        const e = edges[n % edges.length]!;
        return mutation(`${table}.${column} = ${e.label}`, 'row', (d) => {
          put(d.columns, column, { value: e.make(), t: d.t });
        });
      }),
    },
    fc.constantFrom(...COLUMN_NAME_EDGES).map((e) =>
      mutation(`column named ${e.label}`, 'row', (d) => {
        put(d.columns, e.make(), { value: 'x', t: d.t });
      }),
    ),
    fc.constantFrom(...dataColumns).map((column) =>
      mutation(`without column ${column}`, 'row', (d) => {
        delete d.columns[column];
      }),
    ),
    {
      weight: 2,
      arbitrary: fc.constantFrom(...WRITE_TIME_EDGES).map((e) =>
        mutation(`write time ${e.label}`, e.expect ?? 'any', (d) => {
          firstColumn(d)['t'] = e.make()(Date.now() * 1000);
        }),
      ),
    },
    fc
      .constantFrom<Edge>(
        edge('""', () => '', 'refused'),
        edge('255 chars', () => 'x'.repeat(255), 'row'),
        edge('255 noisy chars', () => noisyText(255, 5), 'row'),
        edge('256 chars', () => 'x'.repeat(256), 'refused'),
        edge('1,000,000 chars', () => 'x'.repeat(1_000_000), 'refused'),
        edge('"a\\0b"', () => 'a\u0000b', 'row'),
        edge('"\\uD800"', () => '\uD800', 'row'),
        edge('"😀"', () => '😀', 'row'),
        edge('" "', () => ' ', 'row'),
        edge('5', () => 5, 'refused'),
        edge('null', () => null, 'refused'),
      )
      .map((e) =>
        mutation(`row id ${e.label}`, e.expect ?? 'any', (d) => {
          d.row['id'] = e.make();
        }),
      ),
    fc.constantFrom('delete', 'INSERT', '', null, 1, ['insert']).map((op) =>
      mutation(`op = ${JSON.stringify(op)}`, 'refused', (d) => {
        d.row['op'] = op;
      }),
    ),
    fc.constantFrom('op', 'id', 'columns').map((key) =>
      mutation(`row without ${key}`, 'refused', (d) => {
        delete d.row[key];
      }),
    ),
    fc.constantFrom('value', 't').map((key) =>
      mutation(`column without ${key}`, 'refused', (d) => {
        delete firstColumn(d)[key];
      }),
    ),
    fc.tuple(fc.constantFrom('row', 'column'), fc.constantFrom(...EXTRA_KEYS)).map(([where, key]) =>
      mutation(`extra ${where} field ${JSON.stringify(key)}`, 'refused', (d) => {
        put(where === 'row' ? d.row : firstColumn(d), key, 1);
      }),
    ),
    fc
      .tuple(fc.constantFrom('rows', 'row', 'columns', 'column'), fc.constantFrom(...NODE_JUNK))
      .map(([where, e]) =>
        mutation(`${where} = ${e.label}`, e.expect ?? 'any', (d) => {
          const value = e.make();
          if (where === 'rows') put(d.tables, d.table, value);
          else if (where === 'row') (d.tables[d.table] as unknown[])[0] = value;
          else if (where === 'columns') d.row['columns'] = value;
          else put(d.columns, Object.keys(d.columns)[0] ?? 'name', value);
        }),
      ),
    fc.nat(4).map((k) =>
      mutation(`${2_001 + k * 1_000} rows`, 'refused', (d) => {
        const row = { op: 'update', id: 'bulk', columns: { name: { value: 'Ann', t: d.t } } };
        put(d.tables, d.table, new Array(2_001 + k * 1_000).fill(row));
      }),
    ),
    { weight: 2, arbitrary: commonMutations() },
  );
}

interface UploadCase {
  group: Group;
  table: TableKey;
  op: 'insert' | 'update';
  id: string;
  clientId: string;
  tick: number;
  values: Record<string, unknown>;
  carried: string[];
  otherOwner: boolean;
  context: ContextEdge;
  mutation: Mutation | null;
}

const uploadCaseArb: fc.Arbitrary<UploadCase> = fc.constantFrom(...GROUPS).chain((group) =>
  fc.constantFrom(...GROUP_TABLES[group]).chain((table) =>
    fc.record({
      group: fc.constant(group),
      table: fc.constant(table),
      op: fc.constantFrom('insert' as const, 'update' as const),
      // Mostly ids that exist (updates, inserts that merge), sometimes a new one.
      id: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...ID_POOL[table]) },
        { weight: 1, arbitrary: fc.uuid() },
      ),
      clientId: fc.constantFrom('client-a', 'client-b', 'c'),
      tick: fc.integer({ min: -60_000, max: 60_000 }),
      values: VALID_VALUES[table],
      carried: fc.subarray([...DATA_COLUMNS[table]]),
      otherOwner: rarelyTrue,
      context: contextArb,
      mutation: fc.oneof(
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 5, arbitrary: uploadMutations(table) },
      ),
    }),
  ),
);

function uploadDraft(c: UploadCase): Draft {
  const t = at(c.tick);
  const owner = c.otherOwner ? (c.context.owner === 'u2' ? 'u1' : 'u2') : c.context.owner;
  const values: Record<string, unknown> = { ...c.values, owner_id: owner };
  const names = c.op === 'insert' ? Object.keys(values) : c.carried;
  const columns: Record<string, unknown> = {};
  for (const name of names) put(columns, name, { value: values[name], t });
  const row: Record<string, unknown> = { op: c.op, id: c.id, columns };
  const tables: Record<string, unknown> = {};
  put(tables, c.table, [row]);
  return {
    group: c.group,
    body: { protocol: PROTOCOL_VERSION, clientId: c.clientId, tables },
    tables,
    table: c.table,
    row,
    columns,
    t,
    headers: { 'content-type': 'application/json', ...c.context.headers },
    raw: undefined,
  };
}

const caseLabel = (
  kind: string,
  c: { group: Group; context: ContextEdge; mutation: Mutation | null },
  more = '',
) => `${kind} ${c.group}${more} as ${c.context.label}: ${c.mutation ? c.mutation.label : 'valid'}`;

/** The message of a single call's error answer. */
function errorMessageOf(answer: HttpAnswer): string | undefined {
  try {
    return (JSON.parse(answer.body) as { error?: { message?: string } }).error?.message;
  } catch {
    return undefined;
  }
}

/** The `result.data` of a single call's answer. */
function resultOf(answer: HttpAnswer): unknown {
  try {
    return (JSON.parse(answer.body) as { result?: { data?: unknown } }).result?.data;
  } catch {
    return undefined;
  }
}

function specOf(path: string, d: Draft): RequestSpec {
  return {
    method: 'POST',
    path,
    headers: d.headers,
    body: d.raw ?? JSON.stringify(d.body),
  };
}

/** The rows' answers of a 200 upload, checked against the protocol. */
function uploadResults(answer: HttpAnswer, group: Group, problems: string[]) {
  if (answer.status !== 200) return undefined;
  const parsed = protocols[group]!.uploadResponse.safeParse(resultOf(answer));
  if (!parsed.success) {
    problems.push(`a 200 upload answer off the protocol: ${parsed.error.message.slice(0, 300)}`);
    return undefined;
  }
  const results = Object.values((parsed.data as UploadResponse).tables).flatMap((t) => t.results);
  for (const result of results) {
    if (!result.ok) problems.push(...errorProblems(result, `row ${result.id.slice(0, 40)}`));
  }
  return results;
}

async function checkUpload(c: UploadCase): Promise<void> {
  const d = uploadDraft(c);
  c.mutation?.apply(d);
  const expected = combine(contextExpectation(c.group, c.context), c.mutation?.expect ?? 'row');
  const label = caseLabel('upload', c, `.${c.table} ${c.op} ${c.id}`);
  const before = await digestOf(db, SQL_TABLES);
  const answer = await send(base, specOf(`/${c.group}.upload`, d));
  count(answer);
  const problems = answerProblems(answer, expected);
  const results = uploadResults(answer, c.group, problems);
  if (expected === 'row' && results && results.length !== 1) {
    problems.push(`one row sent, ${results.length} answered`);
  }
  // A refusal never tells the caller about a stored row it cannot see, e.g. its owner.
  const sent = typeof d.raw === 'string' ? d.raw : JSON.stringify(d.body);
  for (const user of ['u1', 'u2']) {
    const quoted = JSON.stringify(user);
    if (user === c.context.owner || sent.includes(quoted)) continue;
    for (const r of results ?? []) {
      if (!r.ok && r.message.includes(quoted)) {
        problems.push(
          `row ${r.id}: the refusal reveals ${quoted}, a value of a row the caller cannot see: ${r.message.slice(0, 200)}`,
        );
      }
    }
  }
  const applied = results?.some((r) => r.ok) ?? false;
  if (!applied && (await digestOf(db, SQL_TABLES)) !== before) {
    problems.push(`the database changed, yet no row was accepted (HTTP ${answer.status})`);
  }
  report(problems, label);
}

// ---------------------------------------------------------------------------
// Downloads.

/** Real cursors from real download answers, by `group/table`. */
const cursorPool = new Map<string, string[]>();
const poolCursor = (group: Group, table: string, n: number) => {
  const pool = cursorPool.get(`${group}/${table}`) ?? [];
  return pool[n % pool.length] ?? null;
};

const decode = (cursor: string) =>
  JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
const encode = (value: unknown) =>
  Buffer.from(JSON.stringify(value) ?? '', 'utf8').toString('base64url');

type Tamper = (state: Record<string, unknown>, cursor: string) => string;
const tamper = (label: string, expect: Expectation, fn: Tamper): Edge<Tamper> =>
  edge(`cursor ${label}`, () => fn, expect);
/** Edges of a field only a cursor inside a pass has: they tamper with such a cursor. */
const NEEDS_POSITION = new WeakSet<Edge<Tamper>>();
const setField = (key: string, label: string, value: unknown, expect: Expectation) => {
  const e = tamper(`${key} = ${label}`, expect, (state) => {
    const next = { ...state };
    setOrOmit(next, key, value);
    return encode(next);
  });
  if (['p', 'x', 'i', 'h'].includes(key)) NEEDS_POSITION.add(e);
  return e;
};

/** A real cursor from inside a pass (with `p`, `x`, `i`), when the pool has one. */
function positionCursor(group: Group, table: string, n: number): string | undefined {
  const pool = cursorPool.get(`${group}/${table}`) ?? [];
  for (let k = 0; k < pool.length; k++) {
    const cursor = pool[(n + k) % pool.length]!;
    if ('p' in decode(cursor)) return cursor;
  }
  return undefined;
}

const XID_EDGES: readonly [string, unknown, Expectation][] = [
  ['"2^64"', '18446744073709551616', 'refused'],
  ['"99999999999999999999"', '99999999999999999999', 'refused'],
  ['"2^64-1"', '18446744073709551615', 'any'],
  ['"-1"', '-1', 'refused'],
  ['"1e5"', '1e5', 'refused'],
  ['""', '', 'refused'],
  ['" 1"', ' 1', 'refused'],
  ['"0x1f"', '0x1f', 'refused'],
  ['"١٢" (Arabic-Indic digits)', '١٢', 'refused'],
  ['"1.0"', '1.0', 'refused'],
  ['21 digits', '000000000000000000001', 'refused'],
  ['20 digits with leading zeros', '00000000000000000001', 'any'],
  ['1 (a number)', 1, 'refused'],
  ['true', true, 'refused'],
  ['{}', {}, 'refused'],
];

const CURSOR_EDGES: readonly Edge<Tamper>[] = [
  ...['l', 'p', 'x'].flatMap((key) =>
    XID_EDGES.map(([label, value, expect]) => setField(key, label, value, expect)),
  ),
  setField('l', 'null', null, 'any'),
  setField('p', 'null', null, 'refused'),
  setField('x', 'omitted', OMIT, 'any'),
  setField('i', '"\\0"', '\u0000', 'refused'),
  setField('i', '"a\\0"', 'a\u0000', 'refused'),
  setField('i', '"\\uD800"', '\uD800', 'refused'),
  setField('i', '"x\\uDC00"', 'x\uDC00', 'refused'),
  setField('i', '""', '', 'any'),
  setField('i', '600 chars', 'x'.repeat(600), 'any'),
  setField('i', '5', 5, 'refused'),
  setField('i', 'null', null, 'refused'),
  setField('h', '"yes"', 'yes', 'refused'),
  setField('h', '1', 1, 'refused'),
  setField('h', 'null', null, 'refused'),
  setField('h', 'true', true, 'any'),
  setField('v', '0', 0, 'refused'),
  setField('v', '2', 2, 'refused'),
  setField('v', '"1"', '1', 'refused'),
  setField('v', 'null', null, 'refused'),
  setField('v', 'omitted', OMIT, 'refused'),
  setField('f', '"other"', 'other', 'ok'),
  setField('f', '""', '', 'any'),
  setField('f', '"f\\0"', 'f\u0000', 'any'),
  setField('f', '5', 5, 'refused'),
  setField('f', 'omitted', OMIT, 'refused'),
  setField('z', '1 (extra field)', 1, 'any'),
  ...['1', 'null', '[]', '"x"', 'true', '{}', '[1,2,3]', deepArray(300)].map((json) =>
    tamper(`= base64url of ${json.slice(0, 12)}`, 'refused', () =>
      Buffer.from(json).toString('base64url'),
    ),
  ),
  tamper('= "!!!!"', 'refused', () => '!!!!'),
  tamper('= ""', 'refused', () => ''),
  tamper('= "a"', 'refused', () => 'a'),
  tamper('= "===="', 'refused', () => '===='),
  tamper('= bytes ff fe', 'refused', () => Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')),
  tamper('in standard base64', 'any', (state) =>
    Buffer.from(JSON.stringify(state)).toString('base64'),
  ),
  tamper('truncated to half', 'refused', (_, cursor) => cursor.slice(0, cursor.length >> 1)),
  tamper(
    'with its last character changed',
    'any',
    (_, cursor) => `${cursor.slice(0, -1)}${cursor.endsWith('A') ? 'B' : 'A'}`,
  ),
  tamper('of 1,025 chars', 'refused', () => 'A'.repeat(1_025)),
];

function downloadMutations(): fc.Arbitrary<Mutation> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(fc.constantFrom(...CURSOR_EDGES), fc.nat()).map(([e, n]) =>
        mutation(e.label, e.expect ?? 'any', (d) => {
          const sent = d.row['cursor'] as string | null;
          const cursor =
            (NEEDS_POSITION.has(e) && !(sent && 'p' in decode(sent))
              ? positionCursor(d.group, d.table, n)
              : sent) ??
            poolCursor(d.group, d.table, n) ??
            encode({ v: 1 });
          d.row['cursor'] = e.make()(decode(cursor), cursor);
        }),
      ),
    },
    fc
      .constantFrom<[string, unknown, Expectation]>(
        ['0', 0, 'refused'],
        ['-1', -1, 'refused'],
        ['10001', 10_001, 'refused'],
        ['1.5', 1.5, 'refused'],
        ['"10"', '10', 'refused'],
        ['null', null, 'refused'],
        ['1e308', 1e308, 'refused'],
        ['1', 1, 'ok'],
        ['10000', 10_000, 'ok'],
      )
      .map(([label, value, expect]) =>
        mutation(`pageSize = ${label}`, expect, (d) => {
          d.body['pageSize'] = value;
        }),
      ),
    fc.constantFrom<unknown>('true', 1, null, 0, []).map((value) =>
      mutation(`hasRows = ${JSON.stringify(value)}`, 'refused', (d) => {
        d.row['hasRows'] = value;
      }),
    ),
    fc.constantFrom('cursor', 'hasRows').map((key) =>
      mutation(`table entry without ${key}`, 'refused', (d) => {
        delete d.row[key];
      }),
    ),
    fc.constantFrom(...EXTRA_KEYS).map((key) =>
      mutation(`extra table-entry field ${JSON.stringify(key)}`, 'refused', (d) => {
        put(d.row, key, 1);
      }),
    ),
    fc.tuple(fc.constantFrom('entry', 'cursor'), fc.constantFrom(...NODE_JUNK)).map(([where, e]) =>
      mutation(`${where} = ${e.label}`, e.expect ?? 'any', (d) => {
        if (where === 'entry') put(d.tables, d.table, e.make());
        else d.row['cursor'] = e.make();
      }),
    ),
    { weight: 3, arbitrary: commonMutations() },
  );
}

interface DownloadCase {
  group: Group;
  tables: { key: TableKey; cursor: number | null; hasRows: boolean }[];
  pageSize: number | undefined;
  clientId: string;
  context: ContextEdge;
  mutation: Mutation | null;
}

const downloadCaseArb: fc.Arbitrary<DownloadCase> = fc.constantFrom(...GROUPS).chain((group) =>
  fc.record({
    group: fc.constant(group),
    tables: fc.shuffledSubarray([...GROUP_TABLES[group]], { minLength: 1 }).chain((keys) =>
      fc.tuple(
        ...keys.map((key) =>
          fc.record({
            key: fc.constant(key),
            cursor: fc.option(fc.nat(), { nil: null, freq: 3 }),
            hasRows: fc.boolean(),
          }),
        ),
      ),
    ),
    pageSize: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
    clientId: fc.constantFrom('client-a', 'c'),
    context: contextArb,
    mutation: fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 5, arbitrary: downloadMutations() },
    ),
  }),
);

function downloadDraft(c: DownloadCase): Draft {
  const tables: Record<string, unknown> = {};
  for (const t of c.tables) {
    put(tables, t.key, {
      cursor: t.cursor === null ? null : poolCursor(c.group, t.key, t.cursor),
      hasRows: t.hasRows,
    });
  }
  const first = c.tables[0]!.key;
  const body: Record<string, unknown> = {
    protocol: PROTOCOL_VERSION,
    clientId: c.clientId,
    tables,
    ...(c.pageSize === undefined ? {} : { pageSize: c.pageSize }),
  };
  return {
    group: c.group,
    body,
    tables,
    table: first,
    row: tables[first] as Record<string, unknown>,
    columns: {},
    t: 0,
    headers: { 'content-type': 'application/json', ...c.context.headers },
    raw: undefined,
  };
}

async function checkDownload(c: DownloadCase): Promise<void> {
  const d = downloadDraft(c);
  c.mutation?.apply(d);
  const expected = combine(contextExpectation(c.group, c.context), c.mutation?.expect ?? 'ok');
  const label = caseLabel(
    'download',
    c,
    ` [${c.tables.map((t) => `${t.key}:${t.cursor === null ? 'null' : `#${t.cursor}`}`).join(' ')}]`,
  );
  const before = await digestOf(db, SQL_TABLES);
  const answer = await send(base, specOf(`/${c.group}.download`, d));
  count(answer);
  const problems = answerProblems(answer, expected);
  if (answer.status === 200) {
    const parsed = protocols[c.group]!.downloadResponse.safeParse(resultOf(answer));
    if (!parsed.success) {
      problems.push(
        `a 200 download answer off the protocol: ${parsed.error.message.slice(0, 300)}`,
      );
    }
  }
  const contextOk = contextExpectation(c.group, c.context) === 'ok';
  if (expected === 'refused' && contextOk && c.mutation?.label.startsWith('cursor')) {
    const message = errorMessageOf(answer);
    if (answer.status >= 400 && answer.status < 500 && !/cursor/i.test(message ?? '')) {
      problems.push(`a refused cursor whose message does not name it: ${message}`);
    }
  }
  if ((await digestOf(db, SQL_TABLES)) !== before) problems.push('a download changed the database');
  report(problems, label);
}

// ---------------------------------------------------------------------------
// Subscriptions.

const QUERY_EDGES: readonly Edge<string | undefined>[] = [
  edge('no query', () => undefined, 'ok'),
  edge('input=null', () => `input=${encodeURIComponent('null')}`, 'any'),
  edge('input={"a":1}', () => `input=${encodeURIComponent('{"a":1}')}`, 'any'),
  edge('input=not JSON', () => 'input=%7B', 'any'),
  edge('input=undefined', () => 'input=undefined', 'any'),
  edge(
    'input of 12,000 chars',
    () => `input=${encodeURIComponent(JSON.stringify('x'.repeat(12_000)))}`,
    'any',
  ),
  edge(
    'input of 20,000 chars',
    () => `input=${encodeURIComponent(JSON.stringify('x'.repeat(20_000)))}`,
    'any',
  ),
  edge('input nested 2,000 deep', () => `input=${deepArray(2_000)}`, 'any'),
  edge('input="\\u0000"', () => `input=${encodeURIComponent('"\\u0000"')}`, 'any'),
  edge('input="\\ud800"', () => `input=${encodeURIComponent('"\\ud800"')}`, 'any'),
  edge('batch=1', () => 'batch=1', 'any'),
  edge(
    'batch=1&input={"0":null}',
    () => `batch=1&input=${encodeURIComponent('{"0":null}')}`,
    'any',
  ),
  edge('connectionParams=garbage', () => 'connectionParams=%7Bx', 'any'),
  edge(
    'connectionParams={"a":1}',
    () => `connectionParams=${encodeURIComponent('{"a":1}')}`,
    'any',
  ),
  edge('connectionParams=[1]', () => `connectionParams=${encodeURIComponent('[1]')}`, 'any'),
  edge(
    'connectionParams={"a":{"b":...}}',
    () => `connectionParams=${encodeURIComponent(deepObject(500))}`,
    'any',
  ),
  edge('lastEventId=\\0', () => `lastEventId=${encodeURIComponent('\u0000')}`, 'any'),
  edge('malformed percent-encoding', () => 'input=%ZZ%', 'any'),
];

interface ChangesCase {
  group: Group;
  context: ContextEdge;
  query: Edge<string | undefined>;
}

const changesCaseArb: fc.Arbitrary<ChangesCase> = fc.record({
  group: fc.constantFrom(...GROUPS),
  context: contextArb,
  query: fc.oneof(
    { weight: 2, arbitrary: fc.constant(QUERY_EDGES[0]!) },
    { weight: 3, arbitrary: fc.constantFrom(...QUERY_EDGES) },
  ),
});

async function checkChanges(c: ChangesCase): Promise<void> {
  const expected = combine(contextExpectation(c.group, c.context), c.query.expect ?? 'any');
  const label = `changes ${c.group} as ${c.context.label}: ${c.query.label}`;
  const before = await digestOf(db, SQL_TABLES);
  const answer = await sendSubscription(
    base,
    {
      method: 'GET',
      path: `/${c.group}.changes`,
      query: c.query.make(),
      headers: c.context.headers,
    },
    3_000,
  );
  count(answer);
  const problems = answerProblems(answer, expected);
  if (expected === 'ok') {
    const first = answer.events ? firstEvent(answer) : undefined;
    let tables: unknown;
    try {
      tables = first && (JSON.parse(first.data) as { tables?: unknown }).tables;
    } catch {
      tables = undefined;
    }
    const want = [...GROUP_TABLES[c.group]].sort();
    if (!Array.isArray(tables) || JSON.stringify([...tables].sort()) !== JSON.stringify(want)) {
      problems.push(
        `expected a first poke naming ${want.join(', ')}, got ${first ? `${first.event}: ${first.data.slice(0, 200)}` : `no event (HTTP ${answer.status}: ${answer.body.slice(0, 200)})`}`,
      );
    }
  }
  if ((await digestOf(db, SQL_TABLES)) !== before)
    problems.push('a subscription changed the database');
  report(problems, label);
}

// ---------------------------------------------------------------------------
// Batches.

interface BatchItem extends Labelled {
  path: string;
  input: unknown;
  expect: Expectation;
}

const batchItemArb: fc.Arbitrary<BatchItem> = fc.oneof(
  {
    weight: 3,
    arbitrary: uploadCaseArb.map((c) => {
      const m = c.mutation?.level === 'json' ? c.mutation : null;
      const d = uploadDraft({ ...c, context: U1, mutation: m });
      m?.apply(d);
      return labelled(
        {
          path: `${c.group}.upload`,
          input: d.body,
          expect: m?.expect ?? 'row',
        },
        caseLabel('upload', { ...c, context: U1, mutation: m }, `.${c.table} ${c.op} ${c.id}`),
      );
    }),
  },
  {
    weight: 3,
    arbitrary: downloadCaseArb.map((c) => {
      const m = c.mutation?.level === 'json' ? c.mutation : null;
      return labelled(
        {
          path: `${c.group}.download`,
          // Built when sent: the cursor pool is filled by then.
          get input() {
            const d = downloadDraft({ ...c, context: U1, mutation: m });
            m?.apply(d);
            return d.body;
          },
          expect: m?.expect ?? 'ok',
        },
        caseLabel('download', { ...c, context: U1, mutation: m }),
      );
    }),
  },
  fc
    .constantFrom(...GROUPS)
    .map((g) =>
      labelled(
        { path: `${g}.changes`, input: undefined, expect: 'refused' as const },
        `${g}.changes`,
      ),
    ),
  fc
    .constantFrom(
      'nope.upload',
      'mine.nope',
      '__proto__.upload',
      'constructor',
      'mine.upload.x',
      '',
    )
    .map((path) =>
      labelled(
        { path, input: { a: 1 }, expect: 'refused' as const },
        `path ${JSON.stringify(path)}`,
      ),
    ),
);

async function checkBatch(items: BatchItem[]): Promise<void> {
  const label = `batch [${items.map((i) => i.label).join(' | ')}]`;
  const inputs: Record<string, unknown> = {};
  items.forEach((item, i) => {
    const input = item.input;
    if (input !== undefined) inputs[String(i)] = input;
  });
  const before = await digestOf(db, SQL_TABLES);
  const answer = await send(base, {
    method: 'POST',
    path: `/${items.map((i) => i.path).join(',')}`,
    query: 'batch=1',
    headers: { 'content-type': 'application/json', ...U1.headers },
    body: JSON.stringify(inputs),
  });
  count(answer);
  // tRPC refuses a batch that mixes a subscription with mutations as a whole.
  const mixed = items.some((i) => i.path.endsWith('.changes'));
  const problems = answerProblems(answer, 'any');
  let applied = false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    parsed = undefined;
  }
  if (mixed && !Array.isArray(parsed)) {
    if (answer.status < 400 || answer.status >= 500) {
      problems.push(`a batch refused whole answered HTTP ${answer.status}`);
    }
  } else if (!Array.isArray(parsed) || parsed.length !== items.length) {
    problems.push(
      `a batch of ${items.length} answered HTTP ${answer.status}: ${answer.body.slice(0, 300)}`,
    );
  } else {
    items.forEach((item, i) => {
      const got = parsed[i] as {
        result?: { data?: UploadResponse | DownloadResponse };
        error?: unknown;
      };
      if (got.result && item.path.endsWith('.upload')) {
        const data = got.result.data as UploadResponse | undefined;
        applied ||= Object.values(data?.tables ?? {}).some((t) => t.results.some((r) => r.ok));
      }
      if ((item.expect === 'ok' || item.expect === 'row') && !got.result) {
        problems.push(
          `item ${i} (${item.label}) is valid, yet answered ${JSON.stringify(got.error).slice(0, 300)}`,
        );
      }
      if (item.expect === 'refused') {
        const status = httpStatusOf(got.error);
        if (status === undefined || status < 400 || status >= 500) {
          problems.push(
            `item ${i} (${item.label}) should be refused with a 4xx, got ${JSON.stringify(got).slice(0, 300)}`,
          );
        }
      }
    });
  }
  if (!applied && (await digestOf(db, SQL_TABLES)) !== before) {
    problems.push('the database changed, yet no uploaded row was accepted');
  }
  report(problems, label);
}

// ---------------------------------------------------------------------------

beforeAll(async () => {
  expect(process.env['NODE_ENV']).not.toBe('production');
  await migrateServer(db, uploadConfig);
  base = await new Promise<string>((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
  // Rows for both users, some published, and real cursors from paged downloads.
  const upload = (user: string, group: Group, body: unknown) =>
    send(base, {
      method: 'POST',
      path: `/${group}.upload`,
      headers: { 'content-type': 'application/json', 'x-user': user },
      body: JSON.stringify(body),
    });
  for (const [user, ids] of [
    ['u1', ['r1', 'r2', 'r3', 'r4']],
    ['u2', ['r5', 'r6']],
  ] as const) {
    const rows = ids.map((id, k) =>
      contactInsert(id, user, at(-100_000 + k), { published: k % 2 === 0 }),
    );
    const answer = await upload(user, 'mine', {
      protocol: PROTOCOL_VERSION,
      clientId: 'seed',
      tables: { contact: rows },
    });
    expect(answer.status, answer.body).toBe(200);
  }
  const samples = ['s1', 's2', 's3'].map((id, k) => ({
    op: 'insert',
    id,
    columns: Object.fromEntries(
      Object.entries({ owner_id: 'u1', label: `sample ${k}`, small: k, is_deleted: false }).map(
        ([name, value]) => [name, { value, t: at(-100_000 + k) }],
      ),
    ),
  }));
  const answer = await upload('u1', 'mine', {
    protocol: PROTOCOL_VERSION,
    clientId: 'seed',
    tables: { sample: samples },
  });
  expect(answer.status, answer.body).toBe(200);

  for (const group of GROUPS) {
    for (const table of GROUP_TABLES[group]) {
      const pool: string[] = [];
      for (const user of ['u1', 'u2']) {
        let cursor: string | null = null;
        for (let page = 0; page < 12; page++) {
          const got = await send(base, {
            method: 'POST',
            path: `/${group}.download`,
            headers: { 'content-type': 'application/json', 'x-user': user },
            body: JSON.stringify({
              protocol: PROTOCOL_VERSION,
              clientId: 'seed',
              tables: { [table]: { cursor, hasRows: page > 0 } },
              pageSize: 1,
            }),
          });
          expect(got.status, got.body).toBe(200);
          const data = (JSON.parse(got.body) as { result: { data: DownloadResponse } }).result.data;
          const part = data.tables[table]!;
          cursor = part.cursor;
          pool.push(cursor);
          if (!part.hasMore && page > 2) break;
        }
      }
      cursorPool.set(`${group}/${table}`, pool);
    }
  }
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  server.closeAllConnections?.();
  await hub.close();
  await db.destroy();
  await database.drop();
});

describe('the sync router under fuzzed HTTP requests', () => {
  beforeEach(() => {
    collected.clear();
    statuses.clear();
  });

  it('answers every fuzzed upload without a 5xx or internals, and a refused one writes nothing', async () => {
    await fc.assert(fc.asyncProperty(uploadCaseArb, checkUpload), runOptions(300));
    expectNoneCollected();
  }, 60_000);

  it('answers every fuzzed download, tampered cursors included, without a 5xx or internals', async () => {
    await fc.assert(fc.asyncProperty(downloadCaseArb, checkDownload), runOptions(300));
    expectNoneCollected();
  }, 60_000);

  it('answers every fuzzed changes subscription (SSE over GET) without a 5xx or internals', async () => {
    await fc.assert(fc.asyncProperty(changesCaseArb, checkChanges), runOptions(150));
    expectNoneCollected();
  }, 60_000);

  it('answers each call of a fuzzed batch on its own, without a 5xx or internals', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batchItemArb, { minLength: 2, maxLength: 4 }), checkBatch),
      runOptions(100),
    );
    expectNoneCollected();
  }, 60_000);
});

// ---------------------------------------------------------------------------
// The inputs of issue 14, one by one: a fuzzer may not draw them.

const json = (body: unknown, user: Record<string, string> = U1.headers): RequestSpec => ({
  method: 'POST',
  path: '',
  headers: { 'content-type': 'application/json', ...user },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const post = (path: string, body: unknown, user?: Record<string, string>) =>
  send(base, { ...json(body, user), path });

/** Sends a request that must be refused: a clean 4xx, and no row changed. */
async function expectRefused(path: string, body: unknown, user?: Record<string, string>) {
  const before = await digestOf(db, SQL_TABLES);
  const answer = await post(path, body, user);
  expect(answerProblems(answer, 'refused')).toEqual([]);
  expect(await digestOf(db, SQL_TABLES)).toBe(before);
  return answer;
}

const firstDownload = (
  tables: Record<string, unknown> = { contact: { cursor: null, hasRows: false } },
) => ({
  protocol: PROTOCOL_VERSION,
  clientId: 'device-1',
  tables,
});

/** A sample row with every column valid, then `column` set to `value`. */
function sampleInsert(id: string, column: string, value: unknown) {
  const t = at(0);
  const values: Record<string, unknown> = {
    owner_id: 'u1',
    label: 'edge',
    small: 1,
    big: '1',
    ratio: 1.5,
    amount: '1.5',
    day: '2026-11-25',
    at: '2026-11-25T15:41:05.123456Z',
    doc: { a: 1 },
    ref: '00000000-0000-0000-0000-000000000000',
    bytes: 'AQID',
    flag: true,
    is_deleted: false,
  };
  const columns: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(values)) put(columns, name, { value: v, t });
  put(columns, column, { value, t });
  return {
    protocol: PROTOCOL_VERSION,
    clientId: 'device-1',
    tables: { sample: [{ op: 'insert', id, columns }] },
  };
}

/** Uploads one row that the server cannot store: a 200 whose row is an `invalid_value`, nothing written. */
async function expectRowRefused(body: unknown, code = 'invalid_value') {
  const before = await digestOf(db, SQL_TABLES);
  const answer = await post('/mine.upload', body);
  const problems = answerProblems(answer, 'row');
  const results = uploadResults(answer, 'mine', problems);
  expect(problems).toEqual([]);
  expect(results?.map((r) => (r.ok ? 'ok' : r.code))).toEqual([code]);
  expect(await digestOf(db, SQL_TABLES)).toBe(before);
}

describe('the inputs of issue 14, one by one', () => {
  it.each([
    ['l above 2^64-1', 'l', '18446744073709551616'],
    ['l of twenty nines', 'l', '99999999999999999999'],
    ['x above 2^64-1', 'x', '18446744073709551616'],
    ['p above 2^64-1', 'p', '18446744073709551616'],
    ['a negative x', 'x', '-1'],
    ['a NUL in i', 'i', 'r1\u0000'],
    ['a lone surrogate in i', 'i', '\uD800'],
    ['a wrong version', 'v', 2],
  ])('a download cursor with %s is a 4xx naming the cursor', async (_, key, value) => {
    const cursor = positionCursor('mine', 'contact', 0);
    expect(cursor, 'a real cursor from inside a pass').toBeDefined();
    const state = { ...decode(cursor!), [key]: value };
    const answer = await expectRefused(
      '/mine.download',
      firstDownload({ contact: { cursor: encode(state), hasRows: true } }),
    );
    expect(answer.status).toBe(400);
    expect(errorMessageOf(answer)).toMatch(/cursor/);
  });

  it.each([
    ['a NUL', 'u1\u0000'],
    ['only a NUL', '\u0000'],
    ['a lone surrogate', '\uD800'],
  ])('a context value with %s is a 4xx on download and upload, and on changes', async (_, user) => {
    const headers = { 'x-user-json': asciiJson(user) };
    await expectRefused('/mine.download', firstDownload(), headers);
    await expectRefused(
      '/mine.upload',
      {
        protocol: PROTOCOL_VERSION,
        clientId: 'device-1',
        tables: { contact: [contactInsert('ctx-1', user, at(0))] },
      },
      headers,
    );
    const answer = await sendSubscription(
      base,
      { method: 'GET', path: '/mine.changes', headers },
      3_000,
    );
    expect(answerProblems(answer, 'refused')).toEqual([]);
  });

  it('a context value of 2,000 noisy characters (over a btree entry) answers, not a 5xx', async () => {
    const headers = { 'x-user-json': asciiJson(NOISY_USER) };
    const before = await digestOf(db, SQL_TABLES);
    const upload = await post(
      '/mine.upload',
      {
        protocol: PROTOCOL_VERSION,
        clientId: 'device-1',
        tables: { contact: [contactInsert('long-owner', NOISY_USER, at(0))] },
      },
      headers,
    );
    const problems = answerProblems(upload, 'any');
    const results = uploadResults(upload, 'mine', problems);
    expect(problems).toEqual([]);
    if (!results?.some((r) => r.ok)) expect(await digestOf(db, SQL_TABLES)).toBe(before);
    expect(answerProblems(await post('/mine.download', firstDownload(), headers), 'any')).toEqual(
      [],
    );
  });

  it('a timestamptz of year 10000 in UTC (9999-12-31T23:59:59.999999-14:00) is a per-row invalid_value', async () => {
    await expectRowRefused(sampleInsert('ts-10000', 'at', '9999-12-31T23:59:59.999999-14:00'));
  });

  it.each([
    ['date 0000-01-01', 'day', '0000-01-01'],
    ['timestamptz of year 0 in UTC', 'at', '0001-01-01T00:00:00+14:00'],
    ['numeric of 200,000 digits', 'amount', '1'.repeat(200_000)],
    ['numeric of 131,073 digits', 'amount', '1'.repeat(131_073)],
    ['double "NaN"', 'ratio', 'NaN'],
    ['double "Infinity"', 'ratio', 'Infinity'],
    ['bigint 2^63', 'big', '9223372036854775808'],
    ['NUL in text', 'label', 'a\u0000b'],
    ['lone surrogate in text', 'label', 'x\uDC00'],
    ['NUL in jsonb', 'doc', { a: '\u0000' }],
    ['NUL in a jsonb key', 'doc', { '\u0000': 1 }],
    ['lone surrogate in jsonb', 'doc', ['\uD800']],
    ['10 MB of text', 'label', 'a'.repeat(10_000_000)],
  ])('a %s is a per-row invalid_value, nothing written', async (label, column, value) => {
    await expectRowRefused(sampleInsert(`edge-${label.replace(/\W+/g, '-')}`, column, value));
  });

  it('a column named by 10,000 characters is refused with a bounded message', async () => {
    const body = sampleInsert('long-column', 'c'.repeat(10_000), 1);
    await expectRowRefused(body);
  });

  /** The one row's answer of an upload by u1, its id replaced by `<id>`. */
  async function rowAnswer(row: ReturnType<typeof contactInsert>) {
    const answer = await post('/mine.upload', {
      protocol: PROTOCOL_VERSION,
      clientId: 'device-1',
      tables: { contact: [row] },
    });
    const problems = answerProblems(answer, 'row');
    const results = uploadResults(answer, 'mine', problems);
    expect(problems).toEqual([]);
    const result = results?.[0];
    if (!result || result.ok) throw new Error(`expected a refused row, got ${answer.body}`);
    return { code: result.code, message: result.message.split(row.id).join('<id>') };
  }

  it('a refusal of an immutable column changed to a 262,144-character value is bounded', async () => {
    // r1 is u1's, its serial "none": a new serial is refused, and the message must not echo it whole.
    const row = contactInsert('r1', 'u1', at(0), { serial: 's'.repeat(262_144) });
    const { code, message } = await rowAnswer(row);
    expect(code).toBe('insufficient_permission');
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE);
  });

  it("a refused insert for another user's scope with a 262,144-character owner is bounded", async () => {
    const row = contactInsert('long-owner-2', 'o'.repeat(262_144), at(0));
    const { code, message } = await rowAnswer(row);
    expect(code).toBe('insufficient_permission');
    expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE);
  });

  it("a refused insert over another user's row does not reveal that row's owner", async () => {
    // r5 belongs to u2; u1 inserts the same id.
    const { message } = await rowAnswer(contactInsert('r5', 'u1', at(0)));
    expect(message).not.toContain('"u2"');
  });

  it("a refused update of another user's row reads exactly as an update of an unknown id", async () => {
    const update = (id: string) => ({
      op: 'update' as const,
      id,
      columns: { phone: { value: '1', t: at(0) } },
    });
    // r5 belongs to u2: u1 never saw it.
    expect(await rowAnswer(update('r5'))).toEqual(await rowAnswer(update('never-written')));
  });

  it.each([
    ['-1', -1],
    ['2^53', 2 ** 53],
    ['1e308', 1e308],
    ['1.5', 1.5],
  ])('a write time of %s is a 4xx, nothing written', async (_, t) => {
    const row = contactInsert('t-edge', 'u1', at(0));
    (row.columns['name'] as { t: unknown }).t = t;
    await expectRefused('/mine.upload', {
      protocol: PROTOCOL_VERSION,
      clientId: 'device-1',
      tables: { contact: [row] },
    });
  });

  it('a write time of 2^53-1 (far in the future) is a per-row clock_skew', async () => {
    const row = contactInsert('t-future', 'u1', Number.MAX_SAFE_INTEGER);
    await expectRowRefused(
      { protocol: PROTOCOL_VERSION, clientId: 'device-1', tables: { contact: [row] } },
      'clock_skew',
    );
  });

  it.each([
    ['empty', ''],
    ['"server"', 'server'],
    ['65 characters', 'a'.repeat(65)],
    ['1,000,000 characters', 'a'.repeat(1_000_000)],
    ['a NUL', 'a\u0000'],
    ['a lone surrogate', '\uD800'],
    ['upper case', 'Device'],
  ])('a client id that is %s is a 4xx on upload and download', async (_, clientId) => {
    await expectRefused('/mine.download', { ...firstDownload(), clientId });
    await expectRefused('/mine.upload', {
      protocol: PROTOCOL_VERSION,
      clientId,
      tables: { contact: [contactInsert('cid', 'u1', at(0))] },
    });
  });

  it.each([
    ['[ 100,000 deep', deepArray(100_000)],
    ['{"a": 100,000 deep', deepObject(100_000)],
    [
      'a request whose rows are 100,000 deep',
      `{"protocol":1,"clientId":"c","tables":{"contact":${deepArray(100_000)}}}`,
    ],
    [
      'a request whose column value is 100,000 deep',
      `{"protocol":1,"clientId":"c","tables":{"contact":[{"op":"insert","id":"deep","columns":{"name":{"value":${deepArray(100_000)},"t":1}}}]}}`,
    ],
  ])('a JSON body of %s is a 4xx, not "Maximum call stack size exceeded"', async (_, body) => {
    for (const path of ['/mine.upload', '/mine.download']) {
      const answer = await expectRefused(path, body);
      expect(answer.body).not.toMatch(/call stack/i);
    }
  });

  it('a request naming a million unknown tables is a 4xx with a bounded message', async () => {
    const tables = `{${Array.from({ length: 1_000_000 }, (_, i) => `"t${i}":[]`).join(',')}}`;
    for (const path of ['/mine.upload', '/mine.download']) {
      const answer = await expectRefused(
        path,
        `{"protocol":1,"clientId":"device-1","tables":${tables}}`,
      );
      expect(answer.body.length).toBeLessThanOrEqual(4_096);
    }
  }, 60_000);

  it('a batch mixing good and bad calls answers each on its own (207)', async () => {
    const cursor = positionCursor('mine', 'contact', 0)!;
    const tampered = encode({ ...decode(cursor), x: '18446744073709551616' });
    const inputs = {
      0: firstDownload(),
      1: firstDownload({ contact: { cursor: tampered, hasRows: true } }),
      2: {
        protocol: PROTOCOL_VERSION,
        clientId: 'device-1',
        tables: { contact: [contactInsert('batch-1', 'u1', at(0))] },
      },
      3: { protocol: 4, clientId: 'device-1', tables: {} },
      4: sampleInsert('batch-2', 'at', '9999-12-31T23:59:59.999999-14:00'),
    };
    const answer = await send(base, {
      ...json(inputs),
      path: '/mine.download,mine.download,mine.upload,mine.upload,mine.upload',
      query: 'batch=1',
    });
    expect(answerProblems(answer, 'any')).toEqual([]);
    expect(answer.status).toBe(207);
    const items = JSON.parse(answer.body) as { result?: unknown; error?: unknown }[];
    expect(items.map((item) => (item.result ? 'result' : httpStatusOf(item.error)))).toEqual([
      'result',
      400,
      'result',
      400,
      'result',
    ]);
  });

  const methodCases = GROUPS.flatMap((group) => [
    [`GET ${group}.upload`, 'GET', `/${group}.upload`, 'refused'],
    [`GET ${group}.download`, 'GET', `/${group}.download`, 'refused'],
    [`POST ${group}.changes`, 'POST', `/${group}.changes`, 'refused'],
    ...['PUT', 'PATCH', 'DELETE'].flatMap((method) =>
      ['upload', 'download', 'changes'].map((procedure) => [
        `${method} ${group}.${procedure}`,
        method,
        `/${group}.${procedure}`,
        'refused',
      ]),
    ),
    ...['HEAD', 'OPTIONS'].flatMap((method) =>
      ['upload', 'download', 'changes'].map((procedure) => [
        `${method} ${group}.${procedure}`,
        method,
        `/${group}.${procedure}`,
        'any',
      ]),
    ),
  ]) as [string, string, string, Expectation][];

  it.each(methodCases)(
    '%s (a wrong HTTP method) is a clean refusal',
    async (_, method, path, expected) => {
      const input = encodeURIComponent(JSON.stringify(firstDownload()));
      const bodyless = method === 'GET' || method === 'HEAD';
      const answer = await sendSubscription(
        base,
        {
          method,
          path,
          query: bodyless ? `input=${input}` : undefined,
          headers: { 'content-type': 'application/json', ...U1.headers },
          body: bodyless ? undefined : JSON.stringify(firstDownload()),
        },
        2_000,
      );
      expect(answerProblems(answer, expected)).toEqual([]);
    },
  );

  it.each([
    '/nope.upload',
    '/mine.nope',
    '/__proto__.upload',
    '/constructor.download',
    '/toString',
    '/mine',
    '/mine.upload.x',
    '/',
  ])('the unknown path %s is a 404', async (path) => {
    const answer = await post(path, firstDownload());
    expect(answerProblems(answer, 'refused')).toEqual([]);
    expect(answer.status).toBe(404);
  });

  it('no error answer carries a stack though NODE_ENV is not production', async () => {
    expect(process.env['NODE_ENV']).not.toBe('production');
    const answers = [
      await post('/mine.download', { protocol: 99 }),
      await post('/mine.download', 'nope'),
      await post('/mine.download', firstDownload(), {}),
      await send(base, { method: 'GET', path: '/mine.upload' }),
      await post('/nope.download', firstDownload()),
    ];
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.body).not.toMatch(/"stack"/);
      expect(answerProblems(answer, 'refused')).toEqual([]);
    }
  });

  it('a server whose database was never migrated says it is not set up, without the database message', async () => {
    const bare = await createTestDatabase('router-fuzz-bare');
    // biome-ignore lint/suspicious/noExplicitAny: any schema
    const bareDb: Kysely<any> = createPgKysely(bare.url);
    const reports: { id: string; error: unknown }[] = [];
    const bareServer = createHTTPServer({
      router: createSyncRouter(uploadConfig, {
        db: bareDb,
        context: (c: FuzzContext) => ({ userId: c.user }),
        onError: (report) => reports.push(report),
      }),
      createContext: ({ req }): FuzzContext => fuzzContextOf(req.headers),
    });
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const url = await new Promise<string>((resolve) => {
        bareServer.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`),
        );
      });
      for (const path of ['/mine.download', '/mine.upload']) {
        const body =
          path === '/mine.download'
            ? firstDownload()
            : {
                protocol: PROTOCOL_VERSION,
                clientId: 'device-1',
                tables: { contact: [contactInsert('x', 'u1', at(0))] },
              };
        const answer = await send(url, { ...json(body), path });
        const error = (JSON.parse(answer.body) as { error: unknown }).error;
        // A server fault, not the client's: a 5xx here is right, but it says what, and nothing more.
        expect(errorProblems(error, path).filter((p) => !p.includes('httpStatus'))).toEqual([]);
        expect(answer.body).not.toMatch(/relation "|contacts|samples/);
        const message = errorMessageOf(answer) ?? '';
        expect(message).toMatch(/not set up/i);
        const report = reports.at(-1);
        expect(report && message.includes(report.id)).toBe(true);
        expect(String((report?.error as Error | undefined)?.message)).toMatch(/migrateServer/);
      }
    } finally {
      spy.mockRestore();
      await new Promise((resolve) => bareServer.close(resolve));
      await bareDb.destroy();
      await bare.drop();
    }
  });
});
