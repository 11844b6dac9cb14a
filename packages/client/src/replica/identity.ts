import type { AnySyncConfig, ResolvedTable } from '@carburetor/core';
import type { SqliteDriver, SqliteExecutor } from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';
import { IDENTITY_KEY, quote, REJECTED_TABLE, STATE_TABLE } from '../schema/names.ts';
import { wipeStatements } from './wipe.ts';

/** What `createSyncClient` does with a replica that belongs to another identity. */
export type IdentityChange = 'refuse' | 'discard';

/**
 * Makes the replica `identity`'s before anything reads it. A replica
 * remembers whose it is; opened for someone else, it never shows or uploads
 * their rows:
 *
 * - if the previous identity left nothing unsent (no local change, no
 *   rejected row), everything of theirs is on the server: the replica is
 *   emptied and becomes `identity`'s;
 * - otherwise it is refused with `replica_owned` and nothing changes, so
 *   their unsent work waits for them; `change: 'discard'` empties it anyway.
 *
 * A replica that remembers no identity (new, or from before identities)
 * becomes `identity`'s as it is.
 *
 * @throws {CarburetorClientError} `replica_owned`.
 */
export async function claimReplica(
  driver: SqliteDriver,
  config: AnySyncConfig,
  identity: string,
  change: IdentityChange,
): Promise<void> {
  const tables = Object.values(config.tables) as ResolvedTable[];
  await driver.exclusive(async (ex) => {
    const found = await ex.execute(`SELECT value FROM ${STATE_TABLE} WHERE key = ?`, [
      IDENTITY_KEY,
    ]);
    const owner = found.rows[0]?.['value'];
    if (owner === identity) return;
    const claim = {
      sql: `INSERT OR REPLACE INTO ${STATE_TABLE} (key, value) VALUES (?, ?)`,
      params: [IDENTITY_KEY, identity],
    };
    if (owner === undefined || owner === null) {
      await ex.executeBatch([claim], { transaction: true });
      return;
    }
    const unsent = await unsentRows(ex, tables);
    if (unsent > 0 && change !== 'discard') {
      throw new CarburetorClientError(
        'replica_owned',
        `This replica belongs to another identity, which left ${unsent} unsent ${unsent === 1 ? 'row' : 'rows'} in it; nothing was changed, so they wait for that identity. Open a replica of its own per identity (e.g. opfsDriver({ name: \`app-\${userId}\` })), or pass identityChange: 'discard' to drop them.`,
      );
    }
    await ex.executeBatch([...wipeStatements(tables), claim], { transaction: true });
  });
}

/** Rows with local changes or a rejection: what emptying the replica would lose. */
async function unsentRows(ex: SqliteExecutor, tables: readonly ResolvedTable[]): Promise<number> {
  const dirty = tables.map(
    (t) => `(SELECT count(*) FROM ${quote(t.sqlName)} WHERE ${quote(t.dirtyFlag)} IS NOT NULL)`,
  );
  const result = await ex.execute(
    `SELECT ${[...dirty, `(SELECT count(*) FROM ${REJECTED_TABLE})`].join(' + ')} AS n`,
  );
  return Number(result.rows[0]?.['n'] ?? 0);
}
