import { createSqliteDriver, type SqliteDriver } from '../driver/sqlite-driver.ts';
import { deleteMemoryImages } from './memory-vfs.ts';
import { WaSqliteConnection } from './wa-sqlite-connection.ts';

/** Options of {@link memoryDriver}. */
export interface MemoryDriverOptions {
  /**
   * The store's name. Stores with a name outlive their driver (until the
   * process exits or {@link deleteMemoryStore}): a new driver with the same
   * name reopens it, after a clean close or a crash. Without a name the store
   * is private and vanishes on close.
   */
  readonly name?: string;
  /**
   * Fault injection for crash tests: the connection dies right after this
   * many file writes (the last one lands), as if the process were killed.
   */
  readonly crashAfterWrites?: number;
}

/** A {@link SqliteDriver} over an in-memory store that can be crashed and reopened. */
export interface MemoryDriver extends SqliteDriver {
  /** The store's name, generated when none was given. */
  readonly name: string;
  /** True once the connection crashed (by {@link MemoryDriver.crash} or `crashAfterWrites`). */
  readonly crashed: boolean;
  /**
   * Simulates the process dying now: the open transaction is neither
   * committed nor rolled back, there is no clean close, every later call
   * fails with code `crashed`. A new driver with the same name recovers only
   * committed data (SQLite replays the rollback journal left behind).
   */
  crash(): void;
}

let anonymousCounter = 0;

/**
 * wa-sqlite in Node over an in-memory store: the replica driver for Node
 * tests, scripts and servers. Foreign keys are on; the rollback journal is
 * kept with the store so a crash never exposes uncommitted writes.
 *
 * @example
 * ```ts
 * const driver = memoryDriver({ name: 'replica' });
 * await driver.execute('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
 * driver.crash();
 * const again = memoryDriver({ name: 'replica' }); // sees only committed data
 * ```
 */
export function memoryDriver(options: MemoryDriverOptions = {}): MemoryDriver {
  const name = options.name ?? `anonymous-${++anonymousCounter}`;
  const connection = new WaSqliteConnection(`/${name}`, {
    crashAfterWrites: options.crashAfterWrites,
    deleteOnClose: options.name === undefined,
  });
  const driver = createSqliteDriver(connection);
  return {
    ...driver,
    name,
    get crashed() {
      return connection.crashed;
    },
    crash: () => connection.crash(),
  };
}

/**
 * Forgets a named memory store (its database and journal images). Close or
 * crash its drivers first.
 *
 * @example
 * ```ts
 * await driver.close();
 * deleteMemoryStore(driver.name);
 * ```
 */
export function deleteMemoryStore(name: string): void {
  deleteMemoryImages(`/${name}`);
}
