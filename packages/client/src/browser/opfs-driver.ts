import { type SqliteDriver, SqliteDriverError } from '../driver/sqlite-driver.ts';
import type { ChangeChannel, SyncLeadership } from '../sync/shared-replica.ts';
import { SharedDatabase } from './shared-database.ts';
import type { OpfsFallback, OpfsStorage } from './worker-protocol.ts';

/** Options of {@link opfsDriver}. */
export interface OpfsDriverOptions {
  /**
   * The replica's name: its file is `carburetor/<name>.sqlite3` in the
   * origin's private file system. Letters, digits, `.`, `_` and `-`.
   */
  readonly name: string;
  /**
   * Where the replica goes where OPFS with synchronous access handles is
   * missing or refused (a page that is not a secure context, WebKitGTK, an
   * old browser). Left out, `open()` fails with code `unsupported`.
   * `'indexeddb'` keeps it in IndexedDB (wa-sqlite's IDBBatchAtomicVFS on
   * its asynchronous build, a second wasm loaded only then): it survives
   * reloads and restarts, and is slower than OPFS. `'memory'` keeps it in an
   * in-memory SQLite database in the worker, lost on reload. Check
   * {@link OpfsDriver.storage} to tell the user.
   */
  readonly fallback?: OpfsFallback;
}

/**
 * A {@link SqliteDriver} whose SQLite runs in a dedicated web worker of one
 * tab, shared by every tab of the origin (see the README, "Several tabs").
 */
export interface OpfsDriver extends SqliteDriver {
  /** The replica's name, as given. */
  readonly name: string;
  /**
   * Where the data lives once `open()` has resolved: `'opfs'` or
   * `'indexeddb'` (both survive reloads and browser restarts) or `'memory'`
   * (lost on reload); `undefined` before that.
   */
  readonly storage: OpfsStorage | undefined;
  /**
   * Whether this tab owns the database now: holds the Web Lock
   * `carburetor:<name>` and runs the SQLite worker that the other tabs send
   * their calls to. False before `open()`.
   */
  readonly isOwner: boolean;
  /** Calls `listener` when this tab becomes the owner, or stops being it (close); returns the unsubscribe function. */
  onOwnershipChange(listener: (owner: boolean) => void): () => void;
  /** For `createSyncClient`: only the owning tab runs the background sync. */
  readonly leadership: SyncLeadership;
  /** For `createSyncClient`: change events to and from the other tabs' clients. */
  readonly changeChannel: ChangeChannel;
}

const NAME = /^[A-Za-z0-9._-]{1,200}$/;

interface Registered {
  readonly driver: OpfsDriver;
  readonly fallback: OpfsFallback | undefined;
}

/** One driver per name in this page: two workers on one OPFS file would lock each other out. */
const registry = new Map<string, Registered>();
/** Closes in flight, by name: a new driver for the name opens after it. */
const closing = new Map<string, Promise<void>>();
/** Each driver's shared database, for the benchmark hook (measure-raw-inserts.ts). */
const databases = new WeakMap<OpfsDriver, SharedDatabase>();

/** The shared database behind a driver made by {@link opfsDriver}; not exported by the package. */
export function sharedDatabaseOf(driver: OpfsDriver): SharedDatabase | undefined {
  return databases.get(driver);
}

/**
 * The browser replica driver: SQLite (wa-sqlite) in a dedicated module
 * worker, storing the database in the Origin Private File System through
 * OPFSCoopSyncVFS, so the data survives reloads and browser restarts.
 *
 * Every tab of the origin shares one database: the tab holding the Web Lock
 * `carburetor:<name>` runs the worker, the others send it their calls; when
 * it closes, the next tab takes over. Callers cannot tell the difference
 * (`isOwner` says which one this is).
 *
 * Calling it again with the same name in the same page returns the same
 * driver (one worker per database file), so React StrictMode's double
 * effects are harmless; still, create it once at module level. The worker
 * starts on first use (`open()` or the first query), so calling this during
 * server-side rendering is safe. `close()` ends the worker; a later call with
 * the same name starts a new one.
 *
 * @example
 * ```ts
 * import { opfsDriver } from '@carburetor/client/browser';
 * import { createReplicaKysely } from '@carburetor/client';
 *
 * const driver = opfsDriver({ name: 'phone-book', fallback: 'indexeddb' });
 * await driver.open();
 * console.info(`The replica is kept in ${driver.storage}.`); // 'opfs' or 'indexeddb'
 * const db = createReplicaKysely<DB>(driver);
 * ```
 */
export function opfsDriver(options: OpfsDriverOptions): OpfsDriver {
  const { name, fallback } = options;
  if (!NAME.test(name)) {
    throw new SqliteDriverError(
      'invalid_parameter',
      `opfsDriver: the name ${JSON.stringify(name)} is not usable as a file name: use 1 to 200 letters, digits, ".", "_" or "-".`,
    );
  }
  const existing = registry.get(name);
  if (existing) {
    if (existing.fallback !== fallback) {
      throw new SqliteDriverError(
        'invalid_parameter',
        `opfsDriver: the replica "${name}" is already open in this page with fallback ${String(existing.fallback)}; pass the same options (one driver per name and page).`,
      );
    }
    return existing.driver;
  }
  const database = new SharedDatabase(name, fallback, closing.get(name));
  const driver: OpfsDriver = {
    name,
    get storage() {
      return database.storage;
    },
    get isOwner() {
      return database.isOwner;
    },
    onOwnershipChange: (listener) => database.onOwnershipChange(listener),
    leadership: database.leadership,
    changeChannel: database.changeChannel,
    open: () => database.open(),
    execute: (sql, params) => database.execute(sql, params),
    executeBatch: (statements, options) => database.executeBatch(statements, options),
    exclusive: (fn) => database.exclusive(fn),
    close: () => {
      if (registry.get(name)?.driver === driver) registry.delete(name);
      const done = database.close();
      const settled = done.catch(() => undefined);
      closing.set(name, settled);
      void settled.then(() => {
        if (closing.get(name) === settled) closing.delete(name);
      });
      return done;
    },
  };
  registry.set(name, { driver, fallback });
  databases.set(driver, database);
  return driver;
}
