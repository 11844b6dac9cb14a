import type { OnlineManager } from '../environment/online-manager.ts';
import type { VisibilityManager } from '../environment/visibility-manager.ts';
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
  /** Sync this long after a local write (more writes within it join the same sync). Default 100 ms. */
  debounceMs?: number;
  /** Retry waits after failures: doubling from `baseMs` (default 1 000 ms) up to `maxMs` (default 60 000 ms), jittered. */
  backoff?: Partial<BackoffOptions>;
}

interface Settings {
  intervalMs: number;
  debounceMs: number;
  backoff: BackoffOptions;
}

/** What the loop drives. */
export interface SyncLoopHost {
  /** Starts a sync, or joins the one in flight (which then calls `syncStarted`/`syncSettled`). */
  sync(): Promise<void>;
  online: OnlineManager;
  visibility: VisibilityManager;
  /** The loop was started or stopped. */
  runningChanged(running: boolean): void;
  /** When several tabs share the replica: only the leader's loop syncs. Absent: always the leader. */
  leadership?: SyncLeadership | undefined;
  random?: () => number;
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

/**
 * The background sync: one timer for the next sync, due after the interval,
 * shortly after a local write, at once when the device comes online or the
 * app becomes visible, or after a backoff when the last sync failed. At most
 * one sync runs; a trigger during a sync runs one more after it. Offline, no
 * timer is kept and nothing is sent; likewise in a tab that shares the
 * replica but does not lead (it starts when it becomes the leader).
 */
export class SyncLoop {
  readonly #host: SyncLoopHost;
  #settings: Settings | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dueAt = Number.POSITIVE_INFINITY;
  #failures = 0;
  #busy = false;
  #again = false;
  #unsubscribe: (() => void)[] = [];

  constructor(host: SyncLoopHost) {
    this.#host = host;
  }

  get running(): boolean {
    return this.#settings !== undefined;
  }

  /** Starts the loop with a sync at once; a no-op when it runs already. */
  start(options: StartOptions = {}): void {
    if (this.#settings) return;
    this.#settings = resolve(options);
    this.#unsubscribe = [
      this.#host.online.subscribe((online) => {
        if (online) this.#request(0);
        else this.#clearTimer();
      }),
      this.#host.visibility.subscribe((visible) => {
        if (visible) this.#request(0);
      }),
    ];
    const leadership = this.#host.leadership;
    if (leadership) {
      this.#unsubscribe.push(
        leadership.subscribe((leader) => {
          if (leader) this.#request(0);
          else this.#clearTimer();
        }),
      );
    }
    this.#host.runningChanged(true);
    this.#request(0);
  }

  /** Stops the loop and drops its timer; a sync in flight finishes. A no-op when stopped. */
  stop(): void {
    if (!this.#settings) return;
    this.#settings = undefined;
    this.#clearTimer();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#again = false;
    this.#host.runningChanged(false);
  }

  /** A local write committed: sync soon, unless a failing server is being backed off. */
  localWrite(): void {
    if (!this.#settings) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    if (this.#failures > 0) return;
    this.#request(this.#settings.debounceMs);
  }

  /** A sync (the loop's or the app's) began; it covers what the pending timer was for. */
  syncStarted(): void {
    this.#busy = true;
    this.#clearTimer();
  }

  /** A sync ended: schedule the next one (interval, once more, or backoff). */
  syncSettled(ok: boolean): void {
    this.#busy = false;
    this.#failures = ok ? 0 : this.#failures + 1;
    const again = this.#again;
    this.#again = false;
    const settings = this.#settings;
    if (!settings) return;
    if (!ok) this.#request(backoffDelay(this.#failures, settings.backoff, this.#host.random));
    else this.#request(again ? settings.debounceMs : settings.intervalMs);
  }

  /** Whether this loop may sync now: started, online, and the leader of a shared replica. */
  #active(): boolean {
    return (
      this.#settings !== undefined &&
      this.#host.online.isOnline() &&
      (this.#host.leadership?.isLeader() ?? true)
    );
  }

  /** Makes sure a sync is due within `delay` ms. */
  #request(delay: number): void {
    if (!this.#active()) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    const due = Date.now() + delay;
    if (this.#timer !== undefined && this.#dueAt <= due) return;
    this.#clearTimer();
    this.#dueAt = due;
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
    if (!this.#active()) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    // The client records the error in its status; syncSettled schedules the retry.
    this.#host.sync().catch(() => undefined);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
  }
}
