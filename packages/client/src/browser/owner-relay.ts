import type { AsyncMutex } from '../driver/async-mutex.ts';
import { MOVED } from './remote-calls.ts';
import type { RelayOp, TabMessage, TabNames } from './tab-protocol.ts';
import { toWire } from './wire-error.ts';
import { closedError, type WorkerConnection } from './worker-connection.ts';
import type { WorkerOps } from './worker-protocol.ts';

/** An exclusive section another tab holds on this (owning) tab's connection. */
interface Served {
  /** Settles once the section holds the connection; false: the owner is closing. */
  readonly acquired: Promise<boolean>;
  release(): void;
}

/** What the relay needs of the owning tab. */
export interface OwnerRelayHost {
  readonly name: string;
  readonly names: TabNames;
  /** The tab's order of calls and sections: other tabs' calls take their turn in it. */
  readonly mutex: AsyncMutex;
  /** The tab is closing: calls not yet begun are answered "moved". */
  isClosing(): boolean;
  worker(): WorkerConnection | undefined;
  /** Aborts the tab's lock requests on teardown; undefined without Web Locks. */
  signal(): AbortSignal | undefined;
  post(to: string, message: TabMessage): void;
}

/**
 * The owning tab's side of the relay: runs other tabs' calls on its worker,
 * holds the connection for their exclusive sections, and ends those sections
 * when their tab goes.
 */
export class OwnerRelay {
  readonly #host: OwnerRelayHost;
  /** Other tabs' sections, by `<tab>:<section>`. */
  readonly #served = new Map<string, Served>();
  /** An open channel to each calling tab's inbox while it lives. */
  readonly #outboxes = new Map<string, BroadcastChannel>();

  constructor(host: OwnerRelayHost) {
    this.#host = host;
  }

  outboxOf(tab: string): BroadcastChannel | undefined {
    return this.#outboxes.get(tab);
  }

  /** Runs a call, or ends a section, another tab sent. */
  receive(message: Exclude<TabMessage, { kind: 'reply' }>): void {
    this.#watch(message.from);
    if (message.kind === 'end') {
      const key = `${message.from}:${message.section}`;
      this.#served.get(key)?.release();
      this.#served.delete(key);
      return;
    }
    const { from, id, op, args } = message;
    const reply = (answer: TabMessage) => this.#host.post(from, answer);
    const moved = () => reply({ kind: 'reply', id, ok: 'moved' });
    const worker = () => {
      const current = this.#host.worker();
      if (!current) throw closedError(this.#host.name);
      return current;
    };
    let run: Promise<unknown>;
    if (message.section === undefined) {
      if (this.#host.isClosing()) {
        moved();
        return;
      }
      run = this.#host.mutex.run(async () =>
        this.#host.isClosing() ? MOVED : worker().call(op, args),
      );
    } else {
      const key = `${from}:${message.section}`;
      let served = this.#served.get(key);
      if (!served) {
        if (this.#host.isClosing()) {
          moved();
          return;
        }
        served = this.#serve();
        this.#served.set(key, served);
      }
      run = served.acquired.then<unknown>((ok) => (ok ? worker().call(op, args) : MOVED));
    }
    run.then(
      (result) =>
        result === MOVED
          ? moved()
          : reply({
              kind: 'reply',
              id,
              ok: true,
              result: result as WorkerOps[RelayOp]['result'],
            }),
      (error: unknown) => reply({ kind: 'reply', id, ok: false, error: toWire(error) }),
    );
  }

  /** Lets go of every section (this tab closes; none runs, they hold its mutex). */
  releaseAll(): void {
    for (const served of this.#served.values()) served.release();
    this.#served.clear();
  }

  closeOutboxes(): void {
    for (const outbox of this.#outboxes.values()) outbox.close();
    this.#outboxes.clear();
  }

  /** Holds this tab's connection for another tab's section until it ends. */
  #serve(): Served {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let acquired!: (ok: boolean) => void;
    const served: Served = {
      acquired: new Promise<boolean>((resolve) => {
        acquired = resolve;
      }),
      release,
    };
    void this.#host.mutex.run(async () => {
      if (this.#host.isClosing()) {
        acquired(false);
        return;
      }
      acquired(true);
      await released;
    });
    return served;
  }

  /** Learns when a calling tab goes: its sections end, an open transaction rolls back. */
  #watch(tab: string): void {
    const signal = this.#host.signal();
    if (this.#outboxes.has(tab) || !signal) return;
    this.#outboxes.set(tab, new BroadcastChannel(this.#host.names.tab(tab)));
    navigator.locks
      .request(this.#host.names.tab(tab), { signal }, async () => {
        this.#outboxes.get(tab)?.close();
        this.#outboxes.delete(tab);
        for (const [key, served] of [...this.#served]) {
          if (!key.startsWith(`${tab}:`)) continue;
          this.#served.delete(key);
          if (await served.acquired) {
            // Its transaction, if it left one open, must not hold the database.
            await this.#host
              .worker()
              ?.call('execute', { sql: 'ROLLBACK', params: [] })
              .catch(() => null);
          }
          served.release();
        }
      })
      .catch(() => undefined);
  }
}
