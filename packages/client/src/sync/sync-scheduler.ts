import { CarburetorClientError } from '../errors.ts';
import { type BackoffOptions, backoffDelay } from './backoff.ts';
import type { SyncLeadership } from './shared-replica.ts';

/**
 * Options of `client.start()`.
 *
 * @example
 * ```ts
 * const options: StartOptions = { intervalMs: 10_000, debounceMs: 50, backoff: { baseMs: 500, maxMs: 30_000 } };
 * client.start(options);
 * ```
 */
export interface StartOptions {
  /** Sync this often while nothing else triggers a sync. Default 30 000 ms. */
  intervalMs?: number;
  /**
   * Groups bursts of local writes: a write starts its upload at once when
   * none started within this long; otherwise it waits for this long after
   * the previous upload started (or for the one in flight to end), and the
   * writes made meanwhile go up together. Default 100 ms.
   */
  debounceMs?: number;
  /** Retry waits after failures: doubling from `baseMs` (default 1 000 ms) up to `maxMs` (default 60 000 ms), jittered. */
  backoff?: Partial<BackoffOptions>;
}

/** What a pass does: upload then download every group, or download only the groups the server poked. */
export type SyncPass =
  /**
   * Upload then download each group; `full`: the app asked (`sync()`),
   * download even where pushes come; `poked`: groups the server poked since
   * their last download, downloaded even where pushes come (a gap, a table
   * it could not push).
   */
  | { readonly kind: 'sync'; readonly full?: boolean; readonly poked?: readonly string[] }
  | { readonly kind: 'download'; readonly groups: readonly string[] };

/** Time as the scheduler sees it: injected, so tests drive it without waiting. */
export interface SchedulerClock {
  now(): number;
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's setImmediate, where there is one (not in browsers). */
const immediate = (globalThis as { setImmediate?: (fire: () => void) => unknown }).setImmediate;
const clearImmediateOf = (globalThis as { clearImmediate?: (handle: unknown) => void })
  .clearImmediate;

/**
 * The wall clock and the environment's timers. Something due now runs on
 * Node's next turn (setImmediate), not after its shortest timer (1 ms): a
 * lone write's upload starts that much sooner.
 */
export const systemClock: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (fire, ms) =>
    ms <= 0 && immediate && clearImmediateOf
      ? { immediate: immediate(fire) }
      : setTimeout(fire, ms),
  clearTimeout: (handle) => {
    if (typeof handle === 'object' && handle !== null && 'immediate' in handle) {
      clearImmediateOf?.((handle as { immediate: unknown }).immediate);
    } else clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** What the scheduler drives and listens to. */
export interface SyncSchedulerHost {
  /** Runs one pass (the runner); rejects when it failed. Never called while a pass runs. */
  run(pass: SyncPass): Promise<void>;
  /** Whether local writes wait for upload: then a poke runs a full sync, so they go up too. */
  hasPendingWrites(): boolean;
  online: { isOnline(): boolean; subscribe(listener: (online: boolean) => void): () => void };
  visibility: { subscribe(listener: (visible: boolean) => void): () => void };
  /** When several tabs share the replica: only the leader's loop syncs. Absent: always the leader. */
  leadership?: SyncLeadership | undefined;
  /** The loop was started or stopped. */
  runningChanged?(running: boolean): void;
  /** The loop may now send requests (started, online, leading), or may no longer. */
  activeChanged?(active: boolean): void;
  clock?: SchedulerClock;
  /** Backoff jitter, a number in [0, 1). */
  random?: () => number;
}

interface Settings {
  intervalMs: number;
  debounceMs: number;
  backoff: BackoffOptions;
}

interface InFlight {
  kind: SyncPass['kind'];
  /** A sync the app asked for: it downloads every group. */
  full: boolean;
  done: Promise<void>;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

const NEVER = Number.POSITIVE_INFINITY;

/**
 * The one place that decides what runs next, and when.
 *
 * ```
 *            start()                        timer due / app's sync()
 *  stopped ───────────► idle (timer armed) ─────────────────────────► running(pass)
 *     ▲      stop()       │  ▲   ▲                                        │
 *     └───────────────────┘  │   └──── settled: interval / once more ─────┘
 *                            │         (writes or pokes came) / backoff
 *          offline, not the leader: no timer; online, visible, leader again: sync at once
 * ```
 *
 * Events and what they schedule:
 * - local write: idle, an upload at once, unless one started within
 *   `debounceMs` (then at that mark); during a pass, one sync after it;
 *   while backing off, nothing (a write does not hurry a retry).
 * - poke (the server says a group changed): a download of the poked groups
 *   at once, or a full sync when local writes wait; during a pass, once more
 *   after it. A poke hurries a retry: the server just proved reachable.
 * - interval: a full sync `intervalMs` after the last one.
 * - online, visible, leadership gained: a full sync at once.
 * - failure: a retry after a growing, jittered backoff; after a setup
 *   mistake (`sync_not_found`: wrong `url` or `path`), after the longest.
 * - stop: no timer, nothing queued; a pass in flight finishes.
 * - the app's `sync()`: runs at once (stopped or not), joins a full sync in
 *   flight, or runs right after a download in flight.
 *
 * At most one pass runs at a time. The scheduler knows no SQLite and no
 * network: it calls `host.run(pass)` and learns how it ended.
 */
export class SyncScheduler {
  readonly #host: SyncSchedulerHost;
  readonly #clock: SchedulerClock;
  #settings: Settings | undefined;
  #timer: unknown;
  #timerAt = NEVER;
  /** When the next full sync is due (the interval, a write, a retry). */
  #syncAt = NEVER;
  /** When a download the server asked for is due. */
  #downloadAt = NEVER;
  /** Groups poked since their last download. */
  readonly #poked = new Set<string>();
  #failures = 0;
  /** When the last full sync (an upload) started: a write within `debounceMs` of it waits. */
  #lastSyncStartedAt = Number.NEGATIVE_INFINITY;
  #inFlight: InFlight | undefined;
  /** The app's sync() asked for during a download pass: it runs right after. */
  #queuedSync: Deferred | undefined;
  /** A write or environment event came during a pass: one more sync after it. */
  #syncAfterPass = false;
  /** A poke came during a pass: one more download after it. */
  #downloadAfterPass = false;
  #wasActive = false;
  #unsubscribe: (() => void)[] = [];

  constructor(host: SyncSchedulerHost) {
    this.#host = host;
    this.#clock = host.clock ?? systemClock;
  }

  /** Whether the background loop is started. */
  get running(): boolean {
    return this.#settings !== undefined;
  }

  /** Whether the loop may send requests now: started, online, and the leader of a shared replica. */
  get active(): boolean {
    return (
      this.#settings !== undefined &&
      this.#host.online.isOnline() &&
      (this.#host.leadership?.isLeader() ?? true)
    );
  }

  /** Starts the loop with a sync at once; a no-op when it runs already. */
  start(options: StartOptions = {}): void {
    if (this.#settings) return;
    this.#settings = resolve(options);
    const { online, visibility, leadership } = this.#host;
    this.#unsubscribe = [
      online.subscribe((isOnline) => this.#environmentChanged(isOnline)),
      visibility.subscribe((visible) => {
        if (visible) this.#syncSoon(0);
      }),
    ];
    if (leadership) {
      this.#unsubscribe.push(leadership.subscribe((leader) => this.#environmentChanged(leader)));
    }
    this.#host.runningChanged?.(true);
    this.#activeMaybeChanged();
    this.#syncSoon(0);
  }

  /** Stops the loop and drops its timer and what it queued; a pass in flight finishes. */
  stop(): void {
    if (!this.#settings) return;
    this.#settings = undefined;
    this.#clearTimer();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#syncAfterPass = false;
    this.#downloadAfterPass = false;
    this.#syncAt = NEVER;
    this.#downloadAt = NEVER;
    this.#poked.clear();
    this.#host.runningChanged?.(false);
    this.#activeMaybeChanged();
  }

  /** A local write committed (here or in another tab of a shared replica). */
  localWrite(): void {
    const settings = this.#settings;
    if (!settings) return;
    if (this.#inFlight) {
      this.#syncAfterPass = true;
      return;
    }
    if (this.#failures > 0) return;
    this.#syncAt = Math.min(this.#syncAt, this.#nextUploadAt(settings));
    this.#arm();
  }

  /** The server says rows of `group` changed (a realtime poke). */
  poke(group: string): void {
    if (!this.active) return;
    this.#poked.add(group);
    if (this.#inFlight) {
      this.#downloadAfterPass = true;
      return;
    }
    this.#downloadAt = Math.min(this.#downloadAt, this.#clock.now());
    this.#arm();
  }

  /**
   * The app's `sync()`: a full pass now, stopped or not. Joins a full pass in
   * flight; during a download pass, runs right after it. Rejects when it fails.
   */
  sync(): Promise<void> {
    const inFlight = this.#inFlight;
    if (!inFlight) return this.#begin({ kind: 'sync', full: true });
    if (inFlight.kind === 'sync' && inFlight.full) return inFlight.done;
    this.#queuedSync ??= deferred();
    return this.#queuedSync.promise;
  }

  /** Resolves once no pass runs and none the app asked for waits (never rejects). */
  async idle(): Promise<void> {
    while (this.#inFlight || this.#queuedSync) {
      await (this.#queuedSync?.promise ?? this.#inFlight?.done)?.catch(() => undefined);
    }
  }

  #environmentChanged(up: boolean): void {
    this.#activeMaybeChanged();
    if (up) this.#syncSoon(0);
    else this.#clearTimer();
  }

  /** The earliest a write's upload may start: now, or `debounceMs` after the last one started. */
  #nextUploadAt(settings: Settings): number {
    return Math.max(this.#clock.now(), this.#lastSyncStartedAt + settings.debounceMs);
  }

  /** Makes sure a sync is due within `delay` ms. */
  #syncSoon(delay: number): void {
    if (!this.active) return;
    if (this.#inFlight) {
      this.#syncAfterPass = true;
      return;
    }
    this.#syncAt = Math.min(this.#syncAt, this.#clock.now() + delay);
    this.#arm();
  }

  #begin(asked: SyncPass): Promise<void> {
    this.#clearTimer();
    this.#downloadAt = NEVER;
    let pass = asked;
    if (pass.kind === 'sync') {
      this.#syncAt = NEVER;
      this.#lastSyncStartedAt = this.#clock.now();
      // The sync answers every poke so far: it downloads the poked groups, pushes or not.
      if (!pass.full && this.#poked.size > 0) pass = { ...pass, poked: [...this.#poked] };
      this.#poked.clear();
    } else {
      for (const group of pass.groups) this.#poked.delete(group);
    }
    const done = Promise.resolve()
      .then(() => this.#host.run(pass))
      .then(
        () => this.#settled(true, pass.kind),
        (error: unknown) => {
          this.#settled(false, pass.kind, error);
          throw error;
        },
      );
    // The loop's own passes report errors through the status only.
    done.catch(() => undefined);
    this.#inFlight = { kind: pass.kind, full: pass.kind === 'sync' && pass.full === true, done };
    return done;
  }

  /** A pass ended: schedule the next one (the app's queued sync, once more, interval, or backoff). */
  #settled(ok: boolean, kind: SyncPass['kind'], error?: unknown): void {
    this.#inFlight = undefined;
    this.#failures = ok ? 0 : this.#failures + 1;
    const syncAfter = this.#syncAfterPass;
    const downloadAfter = this.#downloadAfterPass;
    this.#syncAfterPass = false;
    this.#downloadAfterPass = false;
    const settings = this.#settings;
    if (settings) {
      const now = this.#clock.now();
      if (!ok) {
        // A wrong `url` or `path`, or a config the server no longer serves, stays so until the
        // app or server changes: no quick retries.
        const setupMistake =
          error instanceof CarburetorClientError &&
          (error.code === 'sync_not_found' || error.code === 'update_required');
        this.#syncAt =
          now +
          (setupMistake
            ? settings.backoff.maxMs
            : backoffDelay(this.#failures, settings.backoff, this.#host.random));
      } else if (kind === 'sync') {
        this.#syncAt = syncAfter ? this.#nextUploadAt(settings) : now + settings.intervalMs;
      } else if (syncAfter) {
        this.#syncAt = Math.min(this.#syncAt, this.#nextUploadAt(settings));
      }
      if (downloadAfter) this.#downloadAt = now;
    }
    const queued = this.#queuedSync;
    this.#queuedSync = undefined;
    if (queued) this.#begin({ kind: 'sync', full: true }).then(queued.resolve, queued.reject);
    else this.#arm();
  }

  #activeMaybeChanged(): void {
    const active = this.active;
    if (active === this.#wasActive) return;
    this.#wasActive = active;
    this.#host.activeChanged?.(active);
  }

  /** Sets the one timer for whatever is due first. */
  #arm(): void {
    if (!this.active || this.#inFlight) {
      this.#clearTimer();
      return;
    }
    const due = Math.min(this.#syncAt, this.#downloadAt);
    if (due === NEVER) {
      this.#clearTimer();
      return;
    }
    if (this.#timer !== undefined && this.#timerAt === due) return;
    this.#clearTimer();
    this.#timerAt = due;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, due - this.#clock.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = NEVER;
    if (!this.active || this.#inFlight) return;
    const now = this.#clock.now();
    if (this.#syncAt <= now) {
      void this.#begin({ kind: 'sync' }).catch(() => undefined);
      return;
    }
    if (this.#downloadAt > now) {
      this.#arm();
      return;
    }
    this.#downloadAt = NEVER;
    if (this.#host.hasPendingWrites()) {
      void this.#begin({ kind: 'sync' }).catch(() => undefined);
    } else if (this.#poked.size > 0) {
      void this.#begin({ kind: 'download', groups: [...this.#poked] }).catch(() => undefined);
    } else {
      this.#arm();
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = NEVER;
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function setting(options: StartOptions, name: string, value: number | undefined, fallback: number) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new CarburetorClientError(
      'invalid_options',
      `client.start() option ${name} must be a finite number of milliseconds >= 0; got ${JSON.stringify(value)} in ${JSON.stringify(options)}.`,
    );
  }
  return value;
}

function resolve(options: StartOptions): Settings {
  const base = setting(options, 'backoff.baseMs', options.backoff?.baseMs, 1_000);
  return {
    intervalMs: setting(options, 'intervalMs', options.intervalMs, 30_000),
    debounceMs: setting(options, 'debounceMs', options.debounceMs, 100),
    backoff: {
      baseMs: base,
      maxMs: Math.max(base, setting(options, 'backoff.maxMs', options.backoff?.maxMs, 60_000)),
    },
  };
}
