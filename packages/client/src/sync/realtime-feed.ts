import { CarburetorClientError } from '../errors.ts';
import { type BackoffOptions, backoffDelay } from './backoff.ts';
import type { Push, SyncTransport } from './transport.ts';

/**
 * Options of realtime (`createSyncClient(config, { realtime })`).
 *
 * @example
 * ```ts
 * const realtime: RealtimeOptions = {
 *   backoff: { baseMs: 500, maxMs: 30_000 },
 *   onError: (error) => console.warn('realtime', error.message),
 * };
 * ```
 */
export interface RealtimeOptions {
  /**
   * Reconnect waits after a subscription broke: doubling from `baseMs`
   * (default 1 000 ms) up to `maxMs` (default 30 000 ms), jittered.
   */
  backoff?: Partial<BackoffOptions>;
  /**
   * Hears why a subscription broke or was refused (it is retried, unless the
   * tRPC client cannot subscribe at all). A wrong `url` or `path` comes as
   * the `sync_not_found` error the sync status shows, retried after the
   * longest backoff. Default: nothing, except one `console.warn` for a setup
   * mistake and one for a tRPC client without a subscription link.
   */
  onError?: (error: Error) => void;
}

/** What the feed tells the client. */
export interface RealtimeFeedHost {
  transport: SyncTransport;
  groups: readonly string[];
  /**
   * The server says rows of `group` changed (the first poke of each
   * connection too), with the pages it pushed, if it pushes, and the WAL
   * position to download at (see `ChangesObserver.poke`).
   */
  poked(
    group: string,
    tables: readonly string[],
    push: Push | undefined,
    lsn: string | undefined,
  ): void;
  /** Whether every group's subscription is connected. */
  liveChanged(live: boolean): void;
  options?: RealtimeOptions | undefined;
  random?: () => number;
}

interface GroupFeed {
  close: (() => void) | undefined;
  /** The server answered this connection (its first poke came). */
  live: boolean;
  /** The server pushes pages on this connection (protocol 2). */
  pushing: boolean;
  failures: number;
  retry: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Keeps one `<group>.changes` subscription per group open while the loop is
 * active (started, online, leading) and turns pokes into downloads. A broken
 * subscription is reopened after a growing, jittered backoff (reset by its
 * next first poke); going inactive closes everything, timers included.
 */
export class RealtimeFeed {
  readonly #host: RealtimeFeedHost;
  readonly #backoff: BackoffOptions;
  readonly #feeds = new Map<string, GroupFeed>();
  #active = false;
  #fatal = false;
  #live = false;
  /** Said once: a setup mistake is retried, but its warning is not repeated. */
  #warnedSetupMistake = false;

  constructor(host: RealtimeFeedHost) {
    this.#host = host;
    const baseMs = host.options?.backoff?.baseMs ?? 1_000;
    this.#backoff = { baseMs, maxMs: Math.max(baseMs, host.options?.backoff?.maxMs ?? 30_000) };
    for (const group of host.groups) {
      this.#feeds.set(group, {
        close: undefined,
        live: false,
        pushing: false,
        failures: 0,
        retry: undefined,
      });
    }
  }

  /** Whether every group's subscription is connected. */
  get live(): boolean {
    return this.#live;
  }

  /**
   * Whether `group`'s subscription is connected to a server that pushes
   * the changed rows: changes of others arrive without a download.
   */
  pushing(group: string): boolean {
    const feed = this.#feeds.get(group);
    return feed?.live === true && feed.pushing;
  }

  /** Opens the subscriptions (true) or closes them and their retry timers (false). */
  setActive(active: boolean): void {
    if (this.#active === active) return;
    this.#active = active;
    for (const [group, feed] of this.#feeds) {
      if (active) {
        feed.failures = 0;
        this.#open(group, feed);
      } else {
        this.#shut(feed);
      }
    }
    this.#updateLive();
  }

  #open(group: string, feed: GroupFeed): void {
    if (!this.#active || this.#fatal || feed.close) return;
    feed.retry = undefined;
    let mine = true;
    const close = this.#host.transport.changes(group, {
      poke: (tables, push, lsn) => {
        if (!mine) return;
        if (push) feed.pushing = true;
        if (!feed.live) {
          feed.live = true;
          feed.failures = 0;
          this.#updateLive();
        }
        this.#host.poked(group, tables, push, lsn);
      },
      dropped: (error, fatal) => {
        if (!mine) return;
        mine = false;
        feed.close = undefined;
        feed.live = false;
        feed.pushing = false;
        this.#updateLive();
        this.#report(error, fatal);
        if (fatal) {
          this.#fatal = true;
          this.setActive(false);
          return;
        }
        if (!this.#active) return;
        feed.failures++;
        // A wrong `url` or `path` is not fixed by retrying soon: the longest wait, as the sync loop does.
        const delay = isSetupMistake(error)
          ? this.#backoff.maxMs
          : backoffDelay(feed.failures, this.#backoff, this.#host.random);
        feed.retry = setTimeout(() => this.#open(group, feed), delay);
      },
    });
    // A transport may report the drop before it returns: the retry is set, keep it.
    if (!mine) {
      close();
      return;
    }
    feed.close = () => {
      mine = false;
      close();
    };
  }

  #shut(feed: GroupFeed): void {
    if (feed.retry !== undefined) clearTimeout(feed.retry);
    feed.retry = undefined;
    const close = feed.close;
    feed.close = undefined;
    feed.live = false;
    feed.pushing = false;
    close?.();
  }

  #report(error: Error, fatal: boolean): void {
    const onError = this.#host.options?.onError;
    if (onError) {
      try {
        onError(error);
      } catch (thrown) {
        console.error('Carburetor: a realtime onError listener threw', thrown);
      }
    } else if (fatal) {
      console.warn(`Carburetor: realtime is off. ${error.message}`);
    } else if (isSetupMistake(error) && !this.#warnedSetupMistake) {
      this.#warnedSetupMistake = true;
      console.warn(
        `Carburetor: realtime cannot subscribe (retried every ${this.#backoff.maxMs} ms). ${error.message}`,
      );
    }
  }

  #updateLive(): void {
    const live = this.#active && [...this.#feeds.values()].every((feed) => feed.live);
    if (live === this.#live) return;
    this.#live = live;
    this.#host.liveChanged(live);
  }
}

/** A wrong `url` or `path`, named by the transport (`sync_not_found`). */
function isSetupMistake(error: Error): boolean {
  return error instanceof CarburetorClientError && error.code === 'sync_not_found';
}
