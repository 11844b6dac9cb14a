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
  /**
   * Downloads what the server said changed (`remoteChange`), or syncs when
   * local writes wait; calls `syncStarted('download')`/`syncSettled` when it
   * runs. Absent: a remote change runs a sync.
   */
  download?(): Promise<void>;
  online: OnlineManager;
  visibility: VisibilityManager;
  /** The loop was started or stopped. */
  runningChanged(running: boolean): void;
  /** The loop may now send requests (started, online, leading), or may no longer. */
  activeChanged?(active: boolean): void;
  /** When several tabs share the replica: only the leader's loop syncs. Absent: always the leader. */
  leadership?: SyncLeadership | undefined;
  random?: () => number;
}

/** What a run of the loop does: upload and download, or download only. */
export type SyncKind = 'sync' | 'download';

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
 * The background sync: one timer for the next run, due after the interval,
 * shortly after a local write, at once when the device comes online or the
 * app becomes visible, or after a backoff when the last run failed; and a
 * download at once when the server says something changed (a realtime poke).
 * At most one run at a time; a trigger during a run queues one more after it
 * (a full sync covers a queued download). Offline, no timer is kept and
 * nothing is sent; likewise in a tab that shares the replica but does not
 * lead (it starts when it becomes the leader).
 */
export class SyncLoop {
  readonly #host: SyncLoopHost;
  #settings: Settings | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  /** When the next full sync is due (the interval, a write's debounce, a retry). */
  #syncAt = Number.POSITIVE_INFINITY;
  /** When a download asked for by the server is due. */
  #downloadAt = Number.POSITIVE_INFINITY;
  #failures = 0;
  #busy = false;
  #again = false;
  #againDownload = false;
  #wasActive = false;
  #unsubscribe: (() => void)[] = [];

  constructor(host: SyncLoopHost) {
    this.#host = host;
  }

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
    this.#unsubscribe = [
      this.#host.online.subscribe((online) => {
        this.#activeMaybeChanged();
        if (online) this.#requestSync(0);
        else this.#clearTimer();
      }),
      this.#host.visibility.subscribe((visible) => {
        if (visible) this.#requestSync(0);
      }),
    ];
    const leadership = this.#host.leadership;
    if (leadership) {
      this.#unsubscribe.push(
        leadership.subscribe((leader) => {
          this.#activeMaybeChanged();
          if (leader) this.#requestSync(0);
          else this.#clearTimer();
        }),
      );
    }
    this.#host.runningChanged(true);
    this.#activeMaybeChanged();
    this.#requestSync(0);
  }

  /** Stops the loop and drops its timer; a run in flight finishes. A no-op when stopped. */
  stop(): void {
    if (!this.#settings) return;
    this.#settings = undefined;
    this.#clearTimer();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#again = false;
    this.#againDownload = false;
    this.#syncAt = Number.POSITIVE_INFINITY;
    this.#downloadAt = Number.POSITIVE_INFINITY;
    this.#host.runningChanged(false);
    this.#activeMaybeChanged();
  }

  /** A local write committed: sync soon, unless a failing server is being backed off. */
  localWrite(): void {
    if (!this.#settings) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    if (this.#failures > 0) return;
    this.#requestSync(this.#settings.debounceMs);
  }

  /**
   * The server says rows changed (a realtime poke): download at once, or
   * once more after the run in flight. Unlike a write, a poke hurries a
   * retry too: the server just proved reachable.
   */
  remoteChange(): void {
    if (!this.active) return;
    if (this.#busy) {
      this.#againDownload = true;
      return;
    }
    this.#downloadAt = Math.min(this.#downloadAt, Date.now());
    this.#arm();
  }

  /** A run (the loop's or the app's) began; it covers what was due for it. */
  syncStarted(kind: SyncKind = 'sync'): void {
    this.#busy = true;
    this.#clearTimer();
    this.#downloadAt = Number.POSITIVE_INFINITY;
    if (kind === 'sync') this.#syncAt = Number.POSITIVE_INFINITY;
  }

  /** A run ended: schedule the next one (interval, once more, download, or backoff). */
  syncSettled(ok: boolean, kind: SyncKind = 'sync'): void {
    this.#busy = false;
    this.#failures = ok ? 0 : this.#failures + 1;
    const again = this.#again;
    const againDownload = this.#againDownload;
    this.#again = false;
    this.#againDownload = false;
    const settings = this.#settings;
    if (!settings) return;
    const now = Date.now();
    if (!ok) {
      this.#syncAt = now + backoffDelay(this.#failures, settings.backoff, this.#host.random);
    } else if (kind === 'sync') {
      this.#syncAt = now + (again ? settings.debounceMs : settings.intervalMs);
    } else if (again) {
      this.#syncAt = Math.min(this.#syncAt, now + settings.debounceMs);
    }
    if (againDownload) this.#downloadAt = now;
    this.#arm();
  }

  #activeMaybeChanged(): void {
    const active = this.active;
    if (active === this.#wasActive) return;
    this.#wasActive = active;
    this.#host.activeChanged?.(active);
  }

  /** Makes sure a sync is due within `delay` ms. */
  #requestSync(delay: number): void {
    if (!this.active) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#syncAt = Math.min(this.#syncAt, Date.now() + delay);
    this.#arm();
  }

  /** Sets the timer for whatever is due first. */
  #arm(): void {
    if (!this.active || this.#busy) {
      this.#clearTimer();
      return;
    }
    const due = Math.min(this.#syncAt, this.#downloadAt);
    if (due === Number.POSITIVE_INFINITY) {
      this.#clearTimer();
      return;
    }
    if (this.#timer !== undefined && this.#timerAt === due) return;
    this.#clearTimer();
    this.#timerAt = due;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, due - Date.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (!this.active || this.#busy) return;
    const now = Date.now();
    // The client records the error in its status; syncSettled schedules the retry.
    if (this.#syncAt <= now || !this.#host.download) {
      this.#host.sync().catch(() => undefined);
      return;
    }
    if (this.#downloadAt > now) {
      this.#arm();
      return;
    }
    this.#host.download().catch(() => undefined);
    if (!this.#busy) {
      // Nothing to download after all: keep the rest of the schedule.
      this.#downloadAt = Number.POSITIVE_INFINITY;
      this.#arm();
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }
}
