import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';

/**
 * Test-only helpers of the sync router's HTTP fuzz: raw requests and SSE
 * reads over `fetch`, the checks every answer must pass, and labelled edge
 * values (printed by their label, so a failing case reads short however
 * large its value).
 */

/** The test app's context: the caller's user, as the app's auth would give it. */
export interface FuzzContext {
  user: string | number | null | undefined;
}

/**
 * The user from the request's headers: `x-user` as is (headers carry bytes
 * only), `x-user-json` as a JSON string or number (so a test can send NUL,
 * lone surrogates or any number), `x-user-num` through `Number()` (NaN,
 * Infinity), and `x-user-repeat` to repeat a string user that many times (a
 * very long id without a very long header).
 */
export function fuzzContextOf(headers: IncomingHttpHeaders): FuzzContext {
  const one = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  let user: FuzzContext['user'] = one('x-user');
  const json = one('x-user-json');
  if (json !== undefined) {
    try {
      const parsed: unknown = JSON.parse(json);
      user =
        typeof parsed === 'string' || typeof parsed === 'number' || parsed === null
          ? parsed
          : undefined;
    } catch {
      user = undefined;
    }
  }
  const num = one('x-user-num');
  if (num !== undefined) user = Number(num);
  const repeat = Number(one('x-user-repeat') ?? '1');
  if (typeof user === 'string' && Number.isInteger(repeat) && repeat > 1)
    user = user.repeat(repeat);
  return { user };
}

/** A value printed by its label in fast-check's reports. */
export interface Labelled {
  readonly label: string;
  [fc.toStringMethod](): string;
}

/** What a request deserves: 200, a 4xx, a 200 whose one row is answered per row, or anything but a 5xx. */
export type Expectation = 'ok' | 'refused' | 'row' | 'any';

/** A labelled edge value, made on demand (some are megabytes). */
export interface Edge<T = unknown> extends Labelled {
  make(): T;
  /** What a request carrying it deserves; the case decides when unset. */
  readonly expect: Expectation | undefined;
}

export function edge<T>(label: string, make: () => T, expect?: Expectation): Edge<T> {
  return { label, make, expect, [fc.toStringMethod]: () => label };
}

/** Gives an object a short printed form. */
export function labelled<T extends object>(value: T, label: string): T & Labelled {
  return Object.assign(value, { label, [fc.toStringMethod]: () => label });
}

/** A raw HTTP request. */
export interface RequestSpec {
  method: string;
  /** e.g. `/mine.upload`, or `/mine.upload,mine.download` for a batch. */
  path: string;
  /** The query string without `?`. */
  query?: string | undefined;
  headers?: Record<string, string> | undefined;
  body?: string | Uint8Array<ArrayBuffer> | undefined;
}

/** An answer: status and body text; for an SSE stream, the events read before it was closed. */
export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
  events?: SseEvent[];
}

export interface SseEvent {
  event: string;
  data: string;
}

function urlOf(base: string, spec: RequestSpec) {
  return `${base}${spec.path}${spec.query ? `?${spec.query}` : ''}`;
}

/** Sends a request with `fetch` and reads the whole answer. */
export async function send(base: string, spec: RequestSpec): Promise<HttpAnswer> {
  const response = await fetch(urlOf(base, spec), {
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    signal: AbortSignal.timeout(20_000),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

function parseEvents(text: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const blocks = text.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

/**
 * Opens a subscription (SSE over GET, or whatever method the spec says),
 * reads until its first event other than `connected` / `ping`, or until
 * `waitMs`, then closes it. A non-SSE answer is read whole.
 */
export async function sendSubscription(
  base: string,
  spec: RequestSpec,
  waitMs: number,
): Promise<HttpAnswer> {
  const controller = new AbortController();
  const hardStop = setTimeout(() => controller.abort(), 20_000);
  try {
    const response = await fetch(urlOf(base, spec), {
      method: spec.method,
      headers: spec.headers,
      body: spec.body,
      signal: controller.signal,
    });
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.includes('text/event-stream') || !response.body) {
      return { status: response.status, contentType, body: await response.text() };
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let body = '';
    const events: SseEvent[] = [];
    const deadline = performance.now() + waitMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), left);
        }),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout' || chunk.done) break;
      body += decoder.decode(chunk.value, { stream: true });
      const parsed = parseEvents(body);
      events.length = 0;
      events.push(...parsed.events);
      if (events.some((e) => e.event !== 'connected' && e.event !== 'ping')) break;
    }
    controller.abort();
    await reader.cancel().catch(() => undefined);
    return { status: response.status, contentType, body, events };
  } finally {
    clearTimeout(hardStop);
    controller.abort();
  }
}

/** Error messages longer than this say too much. */
export const MAX_MESSAGE = 1_000;
/** An error answer (one error, one batch item, one SSE error event) is at most this big. */
export const MAX_ERROR_BYTES = 4_096;

/** Text that only the server's internals write: database messages, JS errors, stack frames. */
const INTERNALS: readonly RegExp[] = [
  /relation "/,
  /syntax error at/,
  /invalid input syntax/,
  /violates [\w ]*constraint/,
  /out of range for type/,
  /(?:timestamp|date|integer|bigint|smallint) out of range/,
  /value overflows numeric format/,
  /numeric field overflow/,
  /index row (?:size|requires)/,
  /invalid byte sequence/,
  /unsupported Unicode escape/,
  /date\/time field value out of range/,
  /time zone displacement out of range/,
  /current transaction is aborted/,
  /\bSQLSTATE\b/,
  /could not serialize access/,
  /Maximum call stack size exceeded/,
  /\b(?:TypeError|RangeError|ReferenceError|InternalError)\b/,
  /Cannot read properties of/,
  /is not a function/,
  /is not iterable/,
  /node_modules/,
  /\.(?:ts|js|mjs|cjs):\d+(?::\d+)?/,
  /\n\s+at /,
];

const excerpt = (text: string, max = 300) =>
  text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text;

/** Every error object of an answer: the error of a single call, of each batch item. */
function errorsOf(json: unknown): unknown[] {
  const items = Array.isArray(json) ? json : [json];
  const out: unknown[] = [];
  for (const item of items) {
    if (item && typeof item === 'object' && 'error' in item) out.push(item.error);
  }
  return out;
}

function hasKey(value: unknown, key: string, depth = 0): boolean {
  if (depth > 50 || value === null || typeof value !== 'object') return false;
  if (Object.hasOwn(value, key)) return true;
  return Object.values(value).some((v) => hasKey(v, key, depth + 1));
}

function messagesOf(value: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 50 || value === null || typeof value !== 'object') return out;
  for (const [key, item] of Object.entries(value)) {
    if (key === 'message' && typeof item === 'string') out.push(item);
    else messagesOf(item, out, depth + 1);
  }
  return out;
}

/** The HTTP status an error object says it stands for. */
export function httpStatusOf(error: unknown): number | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const data = (error as { data?: { httpStatus?: unknown } }).data;
  return typeof data?.httpStatus === 'number' ? data.httpStatus : undefined;
}

/** What is wrong with one error object a client received. */
export function errorProblems(error: unknown, where: string): string[] {
  const problems: string[] = [];
  const text = JSON.stringify(error) ?? '';
  if (hasKey(error, 'stack')) problems.push(`${where}: the error carries a stack`);
  const status = httpStatusOf(error);
  if (status !== undefined && status >= 500) {
    problems.push(
      `${where}: error with httpStatus ${status}: ${excerpt(messagesOf(error)[0] ?? text)}`,
    );
  }
  if (text.length > MAX_ERROR_BYTES) {
    problems.push(`${where}: error of ${text.length} bytes (limit ${MAX_ERROR_BYTES})`);
  }
  for (const message of messagesOf(error)) {
    if (message.length > MAX_MESSAGE) {
      problems.push(`${where}: message of ${message.length} chars: ${excerpt(message, 120)}`);
    }
  }
  const withoutStack =
    error && typeof error === 'object'
      ? JSON.stringify(error, (key, value) => (key === 'stack' ? undefined : value))
      : text;
  for (const pattern of INTERNALS) {
    if (pattern.test(withoutStack)) {
      problems.push(`${where}: internals (${pattern}) in ${excerpt(messagesOf(error)[0] ?? text)}`);
    }
  }
  return problems;
}

/** The first SSE event that is not `connected` or `ping`. */
export function firstEvent(answer: HttpAnswer): SseEvent | undefined {
  return answer.events?.find((e) => e.event !== 'connected' && e.event !== 'ping');
}

/** The error of an SSE `serialized-error` event, as the client gets it. */
export function sseError(event: SseEvent): unknown {
  try {
    const data: unknown = JSON.parse(event.data);
    return data && typeof data === 'object' && 'error' in data ? data.error : data;
  } catch {
    return { message: event.data };
  }
}

/** Whether an answer refused the request: a 4xx, or an SSE stream whose first event is a 4xx error. */
export function isRefusal(answer: HttpAnswer): boolean {
  if (answer.status >= 400 && answer.status < 500) return true;
  const first = answer.events ? firstEvent(answer) : undefined;
  if (first?.event !== 'serialized-error') return false;
  const status = httpStatusOf(sseError(first));
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * What is wrong with an answer: a 5xx, a stack, an unbounded or internal
 * message, or a status other than the expected one.
 */
export function answerProblems(answer: HttpAnswer, expected: Expectation): string[] {
  const problems: string[] = [];
  const head = `HTTP ${answer.status}`;
  if (answer.status >= 500) problems.push(`${head}: ${excerpt(answer.body)}`);
  if (answer.events) {
    for (const event of answer.events) {
      if (event.event === 'serialized-error') {
        problems.push(...errorProblems(sseError(event), `SSE error event`));
      }
    }
    if (/"stack"/.test(answer.body)) problems.push('a stack in the SSE stream');
  } else {
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      json = undefined;
    }
    const errors = errorsOf(json);
    errors.forEach((error, i) => {
      problems.push(...errorProblems(error, errors.length > 1 ? `batch item ${i}` : head));
    });
    if (answer.status >= 400 && json === undefined && answer.body.length > MAX_ERROR_BYTES) {
      problems.push(`${head}: a ${answer.body.length}-byte error body`);
    }
    if (answer.status >= 400) {
      for (const pattern of INTERNALS) {
        if (json === undefined && pattern.test(answer.body)) {
          problems.push(`${head}: internals (${pattern}) in ${excerpt(answer.body)}`);
        }
      }
    }
  }
  if ((expected === 'ok' || expected === 'row') && answer.status !== 200) {
    problems.push(`expected 200 for a valid request, got ${head}: ${excerpt(answer.body)}`);
  }
  if (expected === 'ok' && answer.events) {
    const first = firstEvent(answer);
    if (first?.event === 'serialized-error') {
      problems.push(`expected a poke, got an SSE error: ${excerpt(first.data)}`);
    }
  }
  if (expected === 'refused' && !isRefusal(answer)) {
    problems.push(`expected a 4xx for bad input, got ${head}: ${excerpt(answer.body)}`);
  }
  return problems;
}

/** A digest of every row of the synced tables, to see that a refused request changed nothing. */
export async function digestOf(
  // biome-ignore lint/suspicious/noExplicitAny: any schema
  db: Kysely<any>,
  tables: readonly string[],
): Promise<string> {
  const parts = tables.map(
    (table) =>
      sql<string>`(select md5(coalesce(string_agg(r::text, '|' order by r.id), '')) from ${sql.table(table)} r)`,
  );
  const { rows } = await sql<{
    digest: string;
  }>`select concat_ws(',', ${sql.join(parts)}) as digest`.execute(db);
  return rows[0]!.digest;
}

/** Random characters of every plane, surrogate pairs whole: long, and poorly compressible. */
export function noisyText(length: number, seed = 1): string {
  let state = seed;
  let out = '';
  while (out.length < length) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const code = 0x21 + ((state >>> 8) % 0x7000);
    out += code >= 0xd800 && code <= 0xdfff ? 'x' : String.fromCharCode(code);
  }
  return out.slice(0, length);
}

/** `depth` levels of `[`, closed again: JSON nested deeper than any parser's stack. */
export const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** `depth` levels of `{"a":`, closed again. */
export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Any value where a column value goes: wrong types, nesting, sizes. */
export const JUNK_VALUES: readonly Edge[] = [
  edge('null', () => null),
  edge('[]', () => []),
  edge('{}', () => ({})),
  edge('{"value":1}', () => ({ value: 1 })),
  edge('[1,"a",null]', () => [1, 'a', null]),
  edge('array nested 1,000 deep', () => JSON.parse(deepArray(1_000))),
  edge('object nested 1,000 deep', () => JSON.parse(deepObject(1_000))),
  edge('array of 100,000 zeros', () => new Array(100_000).fill(0)),
  edge('"x" x 1,000,000', () => 'x'.repeat(1_000_000)),
  edge('1e308', () => 1e308),
  edge('-1.5', () => -1.5),
  edge('true', () => true),
];

const text = (label: string, value: () => string) => edge(label, value);

/** Edge values per column kind, as the wire carries them. */
export const VALUE_EDGES: Readonly<Record<string, readonly Edge[]>> = {
  text: [
    text('""', () => ''),
    text('"a\\0b" (NUL)', () => 'a\u0000b'),
    text('"\\0"', () => '\u0000'),
    text('"\\uD800" (lone high surrogate)', () => '\uD800'),
    text('"x\\uDC00" (lone low surrogate)', () => 'x\uDC00'),
    text('"\\uDC00\\uD800" (reversed pair)', () => '\uDC00\uD800'),
    text('"😀" (pair)', () => '😀'),
    text('"\\uFFFF"', () => '\uFFFF'),
    text('"\\\\u0000" (escape as text)', () => '\\u0000'),
    text('262,144 bytes (the limit)', () => 'a'.repeat(262_144)),
    text('262,145 bytes', () => 'a'.repeat(262_145)),
    text('noisy 3,000 chars (over a btree entry)', () => noisyText(3_000, 7)),
    text('noisy 100,000 chars (300 KB of UTF-8)', () => noisyText(100_000, 3)),
    text("SQL: '); drop table contacts; --", () => "'); drop table contacts; --"),
    text('"$1 %s $ {x}" (placeholders)', () => `$1 %s ${'$'}{x}`),
    edge('1', () => 1),
    edge('true', () => true),
  ],
  boolean: [
    edge('"true"', () => 'true'),
    edge('0', () => 0),
    edge('1', () => 1),
    edge('"false"', () => 'false'),
  ],
  integer: [
    edge('2^31-1', () => 2_147_483_647),
    edge('2^31', () => 2_147_483_648),
    edge('-2^31', () => -2_147_483_648),
    edge('-2^31-1', () => -2_147_483_649),
    edge('1.5', () => 1.5),
    edge('-0', () => -0),
    edge('2^53', () => 2 ** 53),
    edge('"1"', () => '1'),
    edge('"NaN"', () => 'NaN'),
  ],
  bigint: [
    edge('"2^63-1"', () => '9223372036854775807'),
    edge('"2^63"', () => '9223372036854775808'),
    edge('"-2^63"', () => '-9223372036854775808'),
    edge('"-2^63-1"', () => '-9223372036854775809'),
    edge('"2^64"', () => '18446744073709551616'),
    edge('"1e3"', () => '1e3'),
    edge('" 1"', () => ' 1'),
    edge('"+1"', () => '+1'),
    edge('"01"', () => '01'),
    edge('"-0"', () => '-0'),
    edge('""', () => ''),
    edge('"１" (fullwidth digit)', () => '１'),
    edge('2^53+2 as a number', () => 2 ** 53 + 2),
    edge('1 as a number', () => 1),
    edge('200,000 digits', () => '1'.repeat(200_000)),
  ],
  double: [
    edge('"NaN"', () => 'NaN'),
    edge('"Infinity"', () => 'Infinity'),
    edge('"-Infinity"', () => '-Infinity'),
    edge('"1"', () => '1'),
    edge('1.7976931348623157e308', () => 1.7976931348623157e308),
    edge('-1.7976931348623157e308', () => -1.7976931348623157e308),
    edge('5e-324', () => 5e-324),
    edge('-0', () => -0),
    edge('2^53+1', () => 2 ** 53 + 1),
  ],
  numeric: [
    edge('200,000 digits', () => '1'.repeat(200_000)),
    edge('131,072 digits (PostgreSQL: most before the point)', () => '1'.repeat(131_072)),
    edge('131,073 digits', () => '1'.repeat(131_073)),
    edge('0. then 16,383 digits (most after the point)', () => `0.${'1'.repeat(16_383)}`),
    edge('0. then 16,384 digits', () => `0.${'1'.repeat(16_384)}`),
    edge(
      '"-" then 100,000 digits "." 100,000 digits',
      () => `-${'9'.repeat(100_000)}.${'9'.repeat(100_000)}`,
    ),
    edge('"NaN"', () => 'NaN'),
    edge('"Infinity"', () => 'Infinity'),
    edge('"-Infinity"', () => '-Infinity'),
    edge('"1e5"', () => '1e5'),
    edge('"-0"', () => '-0'),
    edge('".5"', () => '.5'),
    edge('"5."', () => '5.'),
    edge('"+1"', () => '+1'),
    edge('"1,5"', () => '1,5'),
    edge('""', () => ''),
    edge('"0x1"', () => '0x1'),
    edge('1.5 as a number', () => 1.5),
    edge('"٣" (Arabic-Indic digit)', () => '٣'),
  ],
  date: [
    edge('"0000-01-01"', () => '0000-01-01'),
    edge('"0001-01-01"', () => '0001-01-01'),
    edge('"9999-12-31"', () => '9999-12-31'),
    edge('"10000-01-01"', () => '10000-01-01'),
    edge('"-0001-01-01"', () => '-0001-01-01'),
    edge('"2024-02-30"', () => '2024-02-30'),
    edge('"2023-02-29"', () => '2023-02-29'),
    edge('"2024-02-29"', () => '2024-02-29'),
    edge('"2024-13-01"', () => '2024-13-01'),
    edge('"2024-00-10"', () => '2024-00-10'),
    edge('"2024-1-1"', () => '2024-1-1'),
    edge('"2024-01-01T00:00:00Z"', () => '2024-01-01T00:00:00Z'),
    edge('"5874897-12-31"', () => '5874897-12-31'),
    edge('"infinity"', () => 'infinity'),
    edge('"epoch"', () => 'epoch'),
    edge('"1582-10-10" (Julian gap)', () => '1582-10-10'),
    edge('20240101 as a number', () => 20240101),
  ],
  timestamptz: [
    edge(
      '"9999-12-31T23:59:59.999999-14:00" (year 10000 in UTC)',
      () => '9999-12-31T23:59:59.999999-14:00',
    ),
    edge('"9999-12-31T23:59:59.999999Z"', () => '9999-12-31T23:59:59.999999Z'),
    edge('"9999-12-31T23:59:59.9999995Z"', () => '9999-12-31T23:59:59.9999995Z'),
    edge('"0001-01-01T00:00:00Z"', () => '0001-01-01T00:00:00Z'),
    edge('"0001-01-01T00:00:00+14:00" (year 0 in UTC)', () => '0001-01-01T00:00:00+14:00'),
    edge('"0000-01-01T00:00:00Z"', () => '0000-01-01T00:00:00Z'),
    edge('"2026-11-25T15:41:05.1234567Z"', () => '2026-11-25T15:41:05.1234567Z'),
    edge('"2026-11-25T15:41:05+25:00"', () => '2026-11-25T15:41:05+25:00'),
    edge('"2026-11-25T15:41:05+14:59"', () => '2026-11-25T15:41:05+14:59'),
    edge('"2026-11-25T15:41:05-15:59"', () => '2026-11-25T15:41:05-15:59'),
    edge('"2026-11-25T24:00:00Z"', () => '2026-11-25T24:00:00Z'),
    edge('"2026-11-25T15:41:60Z" (leap second)', () => '2026-11-25T15:41:60Z'),
    edge('"2026-02-30T00:00:00Z"', () => '2026-02-30T00:00:00Z'),
    edge('"infinity"', () => 'infinity'),
    edge('"-infinity"', () => '-infinity'),
    edge('"now"', () => 'now'),
    edge('"2026-11-25 15:41:05+00"', () => '2026-11-25 15:41:05+00'),
    edge('"2026-11-25T15:41:05" (no zone)', () => '2026-11-25T15:41:05'),
    edge('"294277-01-01T00:00:00Z"', () => '294277-01-01T00:00:00Z'),
    edge('"+275760-09-13T00:00:00Z"', () => '+275760-09-13T00:00:00Z'),
    edge('"  2026-11-25T15:41:05Z  "', () => '  2026-11-25T15:41:05Z  '),
    edge('fraction of 100,000 digits', () => `2026-11-25T15:41:05.${'9'.repeat(100_000)}Z`),
    edge('1764085265000 as a number', () => 1_764_085_265_000),
  ],
  jsonb: [
    edge('"\\0"', () => '\u0000'),
    edge('{"\\0": 1}', () => ({ '\u0000': 1 })),
    edge('{"a": "\\uD800"}', () => ({ a: '\uD800' })),
    edge('{"\\uDC00": 1}', () => ({ '\uDC00': 1 })),
    edge('"\\\\u0000" (escape as text)', () => '\\u0000'),
    edge('array nested 64 deep', () => JSON.parse(deepArray(64))),
    edge('array nested 65 deep', () => JSON.parse(deepArray(65))),
    edge('1e308', () => 1e308),
    edge('2^64 as a number', () => 2 ** 64),
    edge('{"__proto__": {"x": 1}}', () => JSON.parse('{"__proto__": {"x": 1}}')),
    edge('array of 200,000 zeros (over the size limit)', () => new Array(200_000).fill(0)),
    edge('key of 300,000 chars', () => ({ ['k'.repeat(300_000)]: 1 })),
  ],
  uuid: [
    edge('nil UUID', () => '00000000-0000-0000-0000-000000000000'),
    edge('upper-case max UUID', () => 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'),
    edge('braced UUID', () => '{00000000-0000-0000-0000-000000000000}'),
    edge('UUID without dashes', () => '00000000000000000000000000000000'),
    edge('"not-a-uuid"', () => 'not-a-uuid'),
    edge('""', () => ''),
  ],
  bytea: [
    edge('""', () => ''),
    edge('"AA=="', () => 'AA=='),
    edge('"A"', () => 'A'),
    edge('"===="', () => '===='),
    edge('"AA=A"', () => 'AA=A'),
    edge('"_-__" (base64url)', () => '_-__'),
    edge('"\\\\x00"', () => '\\x00'),
    edge('349,524 base64 chars (just under the limit)', () => 'A'.repeat(349_524)),
    edge('400,000 base64 chars (over the limit)', () => 'A'.repeat(400_000)),
  ],
};

/** Column names an upload may carry instead of a real one. */
export const COLUMN_NAME_EDGES: readonly Edge<string>[] = [
  edge('"nope"', () => 'nope'),
  edge('""', () => ''),
  edge('"id"', () => 'id'),
  edge('"last_synced_at"', () => 'last_synced_at'),
  edge('"column_sync_metadata"', () => 'column_sync_metadata'),
  edge('"dirty_flag"', () => 'dirty_flag'),
  edge('"_carburetor_xid"', () => '_carburetor_xid'),
  edge('"__proto__"', () => '__proto__'),
  edge('"constructor"', () => 'constructor'),
  edge('"toString"', () => 'toString'),
  edge('"Name" (case)', () => 'Name'),
  edge('"name\\0"', () => 'name\u0000'),
  edge('"\\uD800"', () => '\uD800'),
  edge('10,000 chars', () => 'c'.repeat(10_000)),
];

/** Sets an own, enumerable property, even `__proto__`. */
export function put(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
