import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type PostgresServer, startPostgresServer } from './postgres-server.ts';

// A private server: stopping the run's shared one would break the other test files. Durable
// commits: with synchronous_commit off, an immediate shutdown loses the last commits.
const server: PostgresServer = await startPostgresServer({ durableCommits: true });
afterAll(() => server.stop());

async function query(sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('startPostgresServer', () => {
  it.each(['fast', 'immediate'] as const)(
    'shuts down (%s) and starts again on the same port with the same data',
    async (mode) => {
      await query(
        `create table if not exists kept_${mode} (n int); insert into kept_${mode} values (1)`,
      );
      const session = new pg.Client({ connectionString: server.url });
      const sessionErrors: unknown[] = [];
      session.on('error', (error) => sessionErrors.push(error));
      await session.connect();

      await server.shutdown(mode);
      expect(server.running).toBe(false);
      await expect(query('select 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(sessionErrors.length).toBeGreaterThan(0); // the open session was cut
      await session.end().catch(() => undefined);

      await server.start();
      expect(server.running).toBe(true);
      expect(await query(`select n from kept_${mode}`)).toEqual([{ n: 1 }]);
    },
  );
});
