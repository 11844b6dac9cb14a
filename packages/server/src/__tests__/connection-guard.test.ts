import { createTestDatabase } from '@carburetor/testing';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { isDatabaseUnavailable } from '../driver/connection-errors.ts';
import { createPgKysely, createPgPool } from '../driver/pg-dialect.ts';

// Every case terminates backends of this file's own database only: other files share the server.
const database = await createTestDatabase('connection-guard');
afterAll(() => database.drop());

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0)) await close().catch(() => undefined);
});

/** Terminates every other session of the test database, as a restart would. */
async function terminateAll(): Promise<number> {
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ pid: number }>(
      `select pg_terminate_backend(pid), pid from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()`,
    );
    return rows.length;
  } finally {
    await admin.end();
  }
}

// biome-ignore lint/suspicious/noExplicitAny: raw SQL only
function kysely(source: string | pg.Pool, onError?: (error: unknown) => void): Kysely<any> {
  // biome-ignore lint/suspicious/noExplicitAny: raw SQL only
  const db = createPgKysely<any>(source, onError ? { onError } : {});
  closers.push(() => db.destroy());
  return db;
}

async function one(db: Kysely<unknown>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select 1 as n`.execute(db);
  return rows[0]?.n ?? 0;
}

describe('a broken connection never crashes the process', () => {
  it('idle in a pool Carburetor created: reported, dropped, the next query reconnects', async () => {
    const errors: unknown[] = [];
    const pool = createPgPool(database.url, { onError: (error) => errors.push(error) });
    const db = kysely(pool);
    await Promise.all([one(db), one(db), one(db)]); // a few idle connections
    expect(await terminateAll()).toBeGreaterThan(0);
    // Each idle connection hears of its end and leaves the pool.
    await vi.waitFor(() => expect(pool.totalCount).toBe(0));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every(isDatabaseUnavailable)).toBe(true);
    expect(await one(db)).toBe(1);
  });

  it('checked out between two queries: the query after fails, the client is destroyed, the pool goes on', async () => {
    const errors: unknown[] = [];
    const pool = createPgPool(database.url, { onError: (error) => errors.push(error) });
    const db = kysely(pool);
    const failed = await db
      .connection()
      .execute(async (connection) => {
        await one(connection);
        await terminateAll();
        await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0)); // heard while checked out
        await one(connection);
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isDatabaseUnavailable(failed)).toBe(true);
    expect(pool.totalCount).toBe(0); // released with destroy, not put back
    expect(await one(db)).toBe(1);
    expect(pool.totalCount).toBe(1);
  });

  it('checked out with a query in flight: that query fails with 57P01, nothing else', async () => {
    const errors: unknown[] = [];
    const pool = createPgPool(database.url, { onError: (error) => errors.push(error) });
    const db = kysely(pool);
    await one(db);
    const inFlight = sql`select pg_sleep(30)`.execute(db).then(
      () => undefined,
      (error: unknown) => error,
    );
    await vi.waitFor(async () => expect(pool.idleCount).toBe(0));
    await terminateAll();
    const failed = await inFlight;
    expect((failed as { code?: string }).code).toBe('57P01');
    expect(pool.totalCount).toBe(0);
    expect(await one(db)).toBe(1);
  });

  it("the app's own pool without a listener: ours is added once, warns once per burst", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const pool = new pg.Pool({ connectionString: database.url, max: 4 });
    const db = kysely(pool);
    kysely(pool); // a second Kysely over the same pool adds no second listener
    closers.push(() => pool.end());
    expect(pool.listenerCount('error')).toBe(1);
    await Promise.all([one(db), one(db), one(db)]);
    const idle = pool.idleCount;
    expect(idle).toBeGreaterThan(1);
    await terminateAll();
    await vi.waitFor(() => expect(pool.totalCount).toBe(0));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('PostgreSQL connection broke');
    expect(await one(db)).toBe(1);
  });

  it("the app's own pool with its own listener: the app hears it, Carburetor stays quiet", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const heard: unknown[] = [];
    pool.on('error', (error) => heard.push(error));
    const db = kysely(pool);
    closers.push(() => pool.end());
    await one(db);
    await terminateAll();
    await vi.waitFor(() => expect(heard.length).toBeGreaterThan(0));
    expect(warn).not.toHaveBeenCalled();
    expect(await one(db)).toBe(1);
  });

  it('an onError that throws changes nothing', async () => {
    let calls = 0;
    const pool = createPgPool(database.url, {
      onError: () => {
        calls++;
        throw new Error('a broken logger');
      },
    });
    const db = kysely(pool);
    await Promise.all([one(db), one(db)]);
    await terminateAll();
    await vi.waitFor(() => expect(pool.totalCount).toBe(0));
    expect(calls).toBeGreaterThan(0);
    expect(await one(db)).toBe(1);
  });
});
