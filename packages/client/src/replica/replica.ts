import {
  type AnySyncConfig,
  type ClockState,
  createHybridClock,
  type HybridClock,
  isReplicaClientId,
  SERVER_CLIENT_ID,
  type WriteStamp,
} from '@carburetor/core';
import type {
  SqliteDriver,
  SqliteExecutor,
  SqliteRow,
  SqliteStatement,
} from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';
import { migrateClient } from '../schema/migrate.ts';
import { CLIENT_ID_KEY, CLOCK_KEY, STATE_TABLE, scopeKey } from '../schema/names.ts';

/** Options of {@link Replica.open}. */
export interface ReplicaOptions {
  clientId?: string | undefined;
  now?: (() => number) | undefined;
}

/** Restriction values the server confirmed for a group, by context name. */
export type LearnedScope = Record<string, unknown>;

/**
 * The replica's shared state: its driver, client id, clock and learned
 * scope values. Every unit of work runs through {@link Replica.transaction},
 * one SQLite transaction that also saves the clock.
 */
export class Replica {
  readonly config: AnySyncConfig;
  readonly driver: SqliteDriver;
  readonly clientId: string;
  readonly now: () => number;
  #clock: HybridClock;
  /** Restriction values learned per group; saved with the rows that taught them ({@link scopeStatement}). */
  readonly #scopes: Map<string, LearnedScope>;

  private constructor(
    config: AnySyncConfig,
    driver: SqliteDriver,
    clientId: string,
    now: () => number,
    clock: HybridClock,
    scopes: Map<string, LearnedScope>,
  ) {
    this.config = config;
    this.driver = driver;
    this.clientId = clientId;
    this.now = now;
    this.#clock = clock;
    this.#scopes = scopes;
  }

  /** Migrates the replica and loads (or creates) its client id and clock. */
  static async open(
    config: AnySyncConfig,
    driver: SqliteDriver,
    options: ReplicaOptions,
  ): Promise<Replica> {
    // The server refuses any other id on every request: refuse it here, before a write is stamped with it.
    if (options.clientId !== undefined && !isReplicaClientId(options.clientId)) {
      throw new CarburetorClientError(
        'invalid_options',
        `Client id ${JSON.stringify(options.clientId)} is not valid: use 1 to 64 of a-z, 0-9, '-' and '_', not "${SERVER_CLIENT_ID}" (it stamps writes made outside Carburetor).`,
      );
    }
    await migrateClient(driver, config);
    const rows = (await driver.execute(`SELECT key, value FROM ${STATE_TABLE}`)).rows;
    const state = new Map(rows.map((r) => [String(r['key']), String(r['value'])]));
    const clientId = options.clientId ?? state.get(CLIENT_ID_KEY) ?? crypto.randomUUID();
    if (state.get(CLIENT_ID_KEY) !== clientId) {
      await driver.execute(`INSERT OR REPLACE INTO ${STATE_TABLE} (key, value) VALUES (?, ?)`, [
        CLIENT_ID_KEY,
        clientId,
      ]);
    }
    const now = options.now ?? Date.now;
    const saved = state.get(CLOCK_KEY);
    const clock = createHybridClock({
      now,
      ...(saved === undefined ? {} : { state: JSON.parse(saved) as ClockState }),
    });
    const scopes = new Map<string, LearnedScope>();
    for (const [key, value] of state) {
      if (key.startsWith('scope:')) scopes.set(key.slice(6), JSON.parse(value) as LearnedScope);
    }
    const replica = new Replica(config, driver, clientId, now, clock, scopes);
    replica.#savedClock = saved;
    return replica;
  }

  /** A new write stamp of this client. */
  stamp(): WriteStamp {
    return { t: this.#clock.stamp(), c: this.clientId };
  }

  /** Keeps the clock at or above write times seen in stamps the server sent. */
  observeStamps(stamps: Readonly<Record<string, { readonly t: number }>>): void {
    for (const stamp of Object.values(stamps)) {
      if (Number.isSafeInteger(stamp.t) && stamp.t >= 0) this.#clock.observe(stamp.t);
    }
  }

  /** Learns the server's clock from a response's server time (sent and received in local time). */
  observeServerTime(serverTime: number, sentAt: number, receivedAt: number): void {
    this.#clock.observeServerTime(serverTime, sentAt, receivedAt);
  }

  /** After a `clock_skew` refusal: the clock comes back to server time (the refused stamps reached no one). */
  rebaseClock(serverTime: number, sentAt: number, receivedAt: number): void {
    this.#clock.rebase(serverTime, sentAt, receivedAt);
  }

  /** The restriction values learned for `group`, if any. */
  learnedScope(group: string): Readonly<LearnedScope> | undefined {
    return this.#scopes.get(group);
  }

  /**
   * Records that `group`'s restriction `context` has `value` for this
   * replica's user; save it with {@link scopeStatement} in the same
   * transaction. Returns whether it was new.
   */
  learnScope(group: string, context: string, value: unknown): boolean {
    const scope = this.#scopes.get(group) ?? {};
    if (scope[context] === value) return false;
    this.#scopes.set(group, { ...scope, [context]: value });
    return true;
  }

  /** Forgets what was learned of `group` (its cursor was reset); returns whether there was anything. */
  forgetScope(group: string): boolean {
    return this.#scopes.delete(group);
  }

  /** Forgets every learned scope (the replica was wiped). */
  forgetScopes(): void {
    this.#scopes.clear();
  }

  /** The statement that saves the clock. */
  clockStatement(): SqliteStatement {
    this.#savedClock = JSON.stringify(this.#clock.state());
    return {
      sql: `INSERT OR REPLACE INTO ${STATE_TABLE} (key, value) VALUES (?, ?)`,
      params: [CLOCK_KEY, this.#savedClock],
    };
  }

  /** The clock state this replica object last saved or loaded. */
  #savedClock: string | undefined;

  /**
   * Tabs share one replica and one client id, each with a clock in memory:
   * when another tab saved the clock since we last did, continue above it
   * (and take its server offset), so two tabs never stamp the same time.
   */
  #catchUpClock(row: SqliteRow | undefined): void {
    const saved = row === undefined ? undefined : String(row['value']);
    if (saved === undefined || saved === this.#savedClock) return;
    const theirs = JSON.parse(saved) as ClockState;
    const mine = this.#clock.state();
    this.#clock = createHybridClock({
      now: this.now,
      state: {
        last: Math.max(theirs.last, mine.last),
        offsetMs: theirs.offsetMs,
        seen: Math.max(theirs.seen ?? 0, mine.seen ?? 0),
      },
    });
    this.#savedClock = saved;
  }

  /** The statement that saves a group's learned scope values. */
  scopeStatement(group: string): SqliteStatement {
    const scope = this.#scopes.get(group);
    return scope === undefined
      ? { sql: `DELETE FROM ${STATE_TABLE} WHERE key = ?`, params: [scopeKey(group)] }
      : {
          sql: `INSERT OR REPLACE INTO ${STATE_TABLE} (key, value) VALUES (?, ?)`,
          params: [scopeKey(group), JSON.stringify(scope)],
        };
  }

  /**
   * Runs `fn` in one SQLite transaction that also saves the clock; rolls back
   * and rethrows on error. Inside, use only the executor given. `onCommit`
   * runs after the commit, still holding the driver's lock, so what it
   * records (status counts, change events) follows commit order.
   */
  transaction<T>(
    fn: (ex: SqliteExecutor) => Promise<T>,
    onCommit?: (result: T) => void,
  ): Promise<T> {
    return this.driver.exclusive(async (ex) => {
      let result: T;
      try {
        // One driver call to open, one to close: in a browser each is a message to the worker.
        const [, clock] = await ex.executeBatch([
          { sql: 'BEGIN IMMEDIATE' },
          { sql: `SELECT value FROM ${STATE_TABLE} WHERE key = ?`, params: [CLOCK_KEY] },
        ]);
        this.#catchUpClock(clock?.rows[0]);
        result = await fn(ex);
        await ex.executeBatch([this.clockStatement(), { sql: 'COMMIT' }]);
      } catch (error) {
        await ex.execute('ROLLBACK').catch(() => undefined);
        throw error;
      }
      onCommit?.(result);
      return result;
    });
  }
}
