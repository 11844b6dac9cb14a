import { SqliteDriverError } from '../driver/sqlite-driver.ts';
import type { RelayOp, TabMessage } from './tab-protocol.ts';
import { cloneError, fromWire } from './wire-error.ts';
import type { WorkerOps } from './worker-protocol.ts';

/** How long answers of an owner that is gone may still arrive (its inbox stays open as long). */
export const ANSWER_GRACE_MS = 1_000;

/** The answer of an owner that is closing: the call did not run, send it to the next owner. */
export const MOVED = Symbol('moved');

interface Pending {
  readonly owner: string;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** What the calls need of the tab that makes them. */
export interface RemoteCallsHost {
  readonly name: string;
  readonly tabId: string;
  /** The owning tab this tab knows of now. */
  currentOwner(): string | undefined;
  /** Posts to a tab's inbox; `strict` rethrows a clone failure. */
  post(to: string, message: TabMessage, strict: boolean): void;
}

/**
 * The calls this tab sent to the owning tab, waiting for their answers
 * (which come back to this tab's inbox).
 */
export class RemoteCalls {
  readonly #host: RemoteCallsHost;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(host: RemoteCallsHost) {
    this.#host = host;
  }

  /** Sends `op` to `owner`; resolves to its result, or {@link MOVED} when it did not run. */
  send(
    owner: string,
    section: number | undefined,
    op: RelayOp,
    args: WorkerOps[RelayOp]['args'],
  ): Promise<unknown> {
    if (owner !== this.#host.currentOwner()) return Promise.reject(this.ownerGoneError());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { owner, resolve, reject });
      try {
        this.#host.post(
          owner,
          { kind: 'call', from: this.#host.tabId, id, section, op, args },
          true,
        );
      } catch (error) {
        this.#pending.delete(id);
        reject(cloneError(error, 'the tab that owns the replica'));
      }
    });
  }

  /** Settles the call a reply answers. */
  answer(message: Extract<TabMessage, { kind: 'reply' }>): void {
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (message.ok === true) pending.resolve(message.result);
    else if (message.ok === 'moved') pending.resolve(MOVED);
    else pending.reject(fromWire(message.error));
  }

  /**
   * The owning tab `owner` is gone. Calls it has not answered get a moment:
   * an owner that closed cleanly still answers them (run, or "moved" when it
   * did not run them); after that, what a tab that died had not answered may
   * or may not have run, and fails.
   */
  ownerGone(owner: string): void {
    setTimeout(
      () => this.#fail((pending) => pending.owner === owner, this.ownerGoneError()),
      ANSWER_GRACE_MS,
    );
  }

  /** Fails every call still waiting (this tab closes). */
  failAll(error: Error): void {
    this.#fail(() => true, error);
  }

  ownerGoneError(): SqliteDriverError {
    return new SqliteDriverError(
      'crashed',
      `The tab that held the replica "${this.#host.name}" closed before answering; the call may or may not have taken effect (a transaction either committed whole or not at all). Another tab takes over the replica: check, then retry.`,
    );
  }

  #fail(which: (pending: Pending) => boolean, error: Error): void {
    for (const [id, pending] of this.#pending) {
      if (!which(pending)) continue;
      this.#pending.delete(id);
      pending.reject(error);
    }
  }
}
