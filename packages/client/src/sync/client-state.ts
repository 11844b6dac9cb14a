import type { ResolvedTable } from '@carburetor/core';
import type { SqliteDriver, SqliteExecutor } from '../driver/sqlite-driver.ts';
import { CarburetorClientError } from '../errors.ts';
import type { WriteEffects } from '../writes/local-writes.ts';
import {
  type ChangedIds,
  ChangeEmitter,
  type ChangeEvent,
  type ChangeListener,
  changeMessage,
} from './change-emitter.ts';
import type { DownloadProgress } from './download-progress.ts';
import { countPending } from './pending-counts.ts';
import type { ChangeChannel } from './shared-replica.ts';
import type { SyncObserver } from './sync-observer.ts';
import {
  NOT_STARTED_STATUS,
  type SyncStatus,
  type SyncStatusListener,
  SyncStatusStore,
} from './sync-status-store.ts';

/** What {@link ClientState.open} needs. */
export interface ClientStateOptions {
  driver: SqliteDriver;
  /** The tables whose dirty rows count as pending. */
  writableTables: readonly ResolvedTable[];
  /** The client's groups: `hasSynced` once each was downloaded to its end. */
  groups: readonly string[];
  /** Reads the progress of first downloads a replica recorded (one cut by a reload). */
  readProgress?: ((ex: SqliteExecutor) => Promise<DownloadProgress[]>) | undefined;
  /** The config's table keys, in the order change events list them. */
  tableKeys: readonly string[];
  online: { isOnline(): boolean; subscribe(listener: (online: boolean) => void): () => void };
  /** Carries change events to and from the other clients of a shared replica. */
  changeChannel?: ChangeChannel | undefined;
  /** Another client of the shared replica committed a local write. */
  otherClientWrote(): void;
}

/**
 * The one owner of what the app observes: the status snapshot (phase,
 * pending and rejected counts, online, running, live, last sync and error)
 * and the change events, here and, through the change channel, in the other
 * tabs of a shared replica.
 */
export class ClientState {
  readonly #status: SyncStatusStore;
  readonly #changes: ChangeEmitter;
  readonly #driver: SqliteDriver;
  readonly #writable: readonly ResolvedTable[];
  readonly #groups: readonly string[];
  readonly #channel: ChangeChannel | undefined;
  readonly #unsubscribe: (() => void)[] = [];
  #recount: Promise<void> | undefined;
  #recountAgain = false;
  #closed = false;

  /** Reads the pending counts and starts listening to the online manager and the change channel. */
  static async open(options: ClientStateOptions): Promise<ClientState> {
    const counts = await options.driver.exclusive(async (ex) => ({
      ...(await countPending(ex, options.writableTables, options.groups)),
      progress: Object.freeze((await options.readProgress?.(ex)) ?? []),
    }));
    return new ClientState(options, counts);
  }

  private constructor(options: ClientStateOptions, counts: Partial<SyncStatus>) {
    this.#driver = options.driver;
    this.#writable = options.writableTables;
    this.#groups = options.groups;
    this.#channel = options.changeChannel;
    this.#changes = new ChangeEmitter(options.tableKeys);
    const { online } = options;
    this.#status = new SyncStatusStore({
      ...NOT_STARTED_STATUS,
      online: online.isOnline(),
      ...counts,
    });
    this.#unsubscribe.push(
      online.subscribe((isOnline) => this.#status.update({ online: isOnline })),
    );
    this.#status.update({ online: online.isOnline() });
    const unsubscribeChannel = this.#channel?.subscribe((event) => {
      if (this.#closed) return;
      // Another tab committed: its rows are in the shared replica already.
      this.#changes.forward(event);
      if (event.source === 'local') options.otherClientWrote();
      this.#recountSoon();
    });
    if (unsubscribeChannel) this.#unsubscribe.push(unsubscribeChannel);
  }

  get status(): SyncStatus {
    return this.#status.current;
  }

  subscribe(listener: SyncStatusListener): () => void {
    return this.#status.subscribe(listener);
  }

  onChange(listener: ChangeListener): () => void {
    return this.#changes.subscribe(listener);
  }

  /**
   * Tells this client's listeners and, through the change channel, the
   * other tabs' that rows of `tables` changed (`ids`: which, where known).
   */
  announce(tables: Iterable<string>, source: ChangeEvent['source'], ids?: ChangedIds): void {
    const event = this.#changes.emit(tables, source, ids);
    if (event) this.#channel?.publish(changeMessage(event));
  }

  /**
   * A local write transaction committed (called under the driver's lock, so
   * counts and events follow commit order). Returns whether it wrote anything.
   */
  localCommitted(effects: WriteEffects): boolean {
    if (effects.tables.size === 0) return false;
    const { pendingCount, rejectedCount } = this.#status.current;
    this.#status.update({
      pendingCount: pendingCount + effects.pending,
      rejectedCount: rejectedCount + effects.rejected,
    });
    this.announce(effects.tables, 'local', effects.ids);
    return true;
  }

  /** Recounts pending and rejected rows and `hasSynced`, under the driver's lock so no write slips between. */
  recount(): Promise<void> {
    return this.#driver.exclusive(async (ex) =>
      this.#status.update(await countPending(ex, this.#writable, this.#groups)),
    );
  }

  /** What the upload and download steps report as they commit. */
  readonly observer: SyncObserver = {
    pageApplied: (changed, delivered, ids) => {
      if (delivered > 0) {
        this.#status.update({
          downloadedInSync: this.#status.current.downloadedInSync + delivered,
        });
      }
      this.announce(changed, 'sync', ids);
    },
    progressed: (moved) => {
      const next = this.#status.current.progress.filter(
        (p) => !moved.some((m) => m.group === p.group && m.table === p.table),
      );
      this.#status.update({ progress: Object.freeze([...next, ...moved]) });
    },
    answerApplied: async (changed, ids) => {
      this.announce(changed, 'sync', ids);
      await this.recount();
    },
  };

  passStarted(): void {
    const { progress } = this.#status.current;
    const going = progress.filter((p) => !p.complete);
    this.#status.update({
      downloadedInSync: 0,
      ...(going.length === progress.length ? {} : { progress: Object.freeze(going) }),
    });
  }

  /** The replica was wiped: no first download is under way any more. */
  forgetProgress(): void {
    if (this.#status.current.progress.length > 0)
      this.#status.update({ progress: Object.freeze([]) });
  }

  phase(phase: SyncStatus['phase']): void {
    this.#status.update({ phase });
  }

  /** A pass succeeded, ending at `at` (ISO 8601): the error, if any, is cleared. */
  passSucceeded(at: string): void {
    this.#status.update({ phase: 'idle', lastSyncedAt: at, lastError: null });
  }

  /** A pass failed at `at` (ISO 8601) with `error`. */
  passFailed(at: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof CarburetorClientError ? error.code : undefined;
    this.#status.update({ phase: 'idle', lastError: Object.freeze({ message, at, code }) });
  }

  /** The background loop was started or stopped. */
  running(running: boolean): void {
    this.#status.update({ running });
  }

  /** Realtime connected or lost. */
  live(live: boolean): void {
    this.#status.update({ live });
  }

  /** Stops listening; waits for a recount in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#recount;
  }

  /** One recount at a time, and one more if events came during it. */
  #recountSoon(): void {
    if (this.#recount) {
      this.#recountAgain = true;
      return;
    }
    this.#recount = this.recount()
      .catch(() => undefined)
      .finally(() => {
        this.#recount = undefined;
        if (this.#recountAgain && !this.#closed) {
          this.#recountAgain = false;
          this.#recountSoon();
        }
      });
  }
}
