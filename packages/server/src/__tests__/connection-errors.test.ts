import { createServer } from 'node:net';
import { createTestDatabase } from '@carburetor/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../driver/connection-errors.ts';

const database = await createTestDatabase('connection-errors');
afterAll(() => database.drop());

/** An error shaped like pg's DatabaseError for a SQLSTATE. */
function pgError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code, severity: 'FATAL' });
}

/** A port on 127.0.0.1 that nobody listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('isDatabaseUnavailable', () => {
  it.each([
    '57P01', // admin_shutdown: fast/immediate shutdown, pg_terminate_backend
    '57P02', // crash_shutdown
    '57P03', // cannot_connect_now: starting up
    '08000',
    '08001',
    '08003',
    '08006',
    '08P01',
  ])('SQLSTATE %s is unavailable', (code) => {
    expect(isDatabaseUnavailable(pgError(code))).toBe(true);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'])(
    'socket %s is unavailable',
    (code) => {
      expect(isDatabaseUnavailable(Object.assign(new Error(code), { code }))).toBe(true);
    },
  );

  it.each([
    'Connection terminated unexpectedly',
    'Connection terminated',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
  ])('pg message "%s" is unavailable', (message) => {
    expect(isDatabaseUnavailable(new Error(message))).toBe(true);
  });

  it('looks through causes and AggregateErrors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: refused }))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([new Error('other'), refused]))).toBe(true);
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    expect(isDatabaseUnavailable(loop)).toBe(false);
  });

  it.each([
    ['unique violation', pgError('23505')],
    ['syntax error', pgError('42601')],
    ['undefined table', pgError('42P01')],
    ['query canceled', pgError('57014')],
    ['serialization failure', pgError('40001')],
    ['plain error', new Error('boom')],
    ['message that only mentions a connection', new Error('Connection settings are wrong')],
    ['string', 'ECONNREFUSED'],
    ['undefined', undefined],
    ['null', null],
  ])('%s is not', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('recognizes real pg errors: a refused connection, a terminated backend, a query on the dead client', async () => {
    const refused = new pg.Client({ host: '127.0.0.1', port: await closedPort() });
    const connectError = await refused.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isDatabaseUnavailable(connectError)).toBe(true);

    const victim = new pg.Client({ connectionString: database.url });
    const clientErrors: unknown[] = [];
    victim.on('error', (error) => clientErrors.push(error));
    await victim.connect();
    const pid = (victim as unknown as { processID: number }).processID;
    const inFlight = victim.query('select pg_sleep(30)').then(
      () => undefined,
      (error: unknown) => error,
    );
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query('select pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
    const terminated = await inFlight;
    expect((terminated as { code?: string }).code).toBe('57P01');
    expect(isDatabaseUnavailable(terminated)).toBe(true);

    const afterwards = await victim.query('select 1').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isDatabaseUnavailable(afterwards)).toBe(true);
    for (const error of clientErrors) expect(isDatabaseUnavailable(error)).toBe(true);
    await victim.end().catch(() => undefined);

    const syntax = await withClient((client) => client.query('selec 1')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isDatabaseUnavailable(syntax)).toBe(false);
  });
});

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
