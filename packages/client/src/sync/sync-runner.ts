import type { ResolvedGroup } from '@carburetor/core';
import type { AsyncMutex } from '../driver/async-mutex.ts';
import type { Replica } from '../replica/replica.ts';
import type { ClientGroups } from './client-groups.ts';
import type { ClientState } from './client-state.ts';
import { downloadGroup } from './download.ts';
import { applyPush } from './push.ts';
import type { SyncPass } from './sync-scheduler.ts';
import { type Push, type SyncTransport, serverRefusalOf } from './transport.ts';
import { uploadGroup } from './upload.ts';

/** What a {@link SyncRunner} works with. */
export interface SyncRunnerOptions {
  replica: Replica;
  transport: SyncTransport;
  groups: ClientGroups;
  /** Rows per table per download page (the server caps it). */
  pageSize?: number | undefined;
  /** Reports phases, counts, change events and how each pass ended. */
  state: ClientState;
  /** Held for a whole pass, so `discard` and `reset` never run in the middle of one. */
  lifecycle: AsyncMutex;
  /**
   * Whether the server pushes `group`'s changes to this client now: after
   * the loop uploads local writes, their download is left out (the writer
   * holds its rows already; the others' come pushed).
   */
  pushing?: (group: string) => boolean;
}

/**
 * Runs one pass over the replica and the transport: for each group in
 * order, its upload then its download (a full sync), or the download of the
 * poked groups only. It decides nothing about when: the scheduler calls it.
 */
export class SyncRunner {
  readonly #options: SyncRunnerOptions;
  /** Per group, the newest change (a WAL position) announced and not yet downloaded. */
  readonly #after = new Map<string, string>();

  constructor(options: SyncRunnerOptions) {
    this.#options = options;
  }

  /** Runs `pass` and records in the status how it ended; rejects when it failed. */
  async run(pass: SyncPass): Promise<void> {
    const { lifecycle, state } = this.#options;
    try {
      await lifecycle.run(() => this.#pass(pass));
    } catch (error) {
      state.passFailed(this.#iso(), error);
      throw error;
    }
    state.passSucceeded(this.#iso());
  }

  /** Uploads the tables `group` uploads (tests drive single steps); resolves with the rows sent. */
  upload(group: ResolvedGroup): Promise<number> {
    const { replica, transport, groups, state } = this.#options;
    return uploadGroup(replica, transport, group, groups.uploadedBy(group), state.observer);
  }

  /** Downloads `group` until caught up (tests drive single steps). */
  async download(group: ResolvedGroup): Promise<void> {
    const { replica, transport, groups, pageSize, state } = this.#options;
    const after = this.#after.get(group.name);
    await downloadGroup(replica, transport, group, groups.list, pageSize, state.observer, after);
    if (this.#after.get(group.name) === after) this.#after.delete(group.name);
  }

  /** The server announced a change of `group` at WAL position `lsn`: the next download asks for it. */
  announced(group: string, lsn: string): void {
    this.#after.set(group, lsn);
  }

  /**
   * Applies pushed pages under the lifecycle (never inside a pass); resolves
   * with the tables to download instead.
   */
  applyPush(group: ResolvedGroup, tables: readonly string[], push: Push): Promise<string[]> {
    const { replica, groups, lifecycle, state } = this.#options;
    return lifecycle.run(() =>
      applyPush(replica, group, groups.list, tables, push, state.observer),
    );
  }

  async #pass(pass: SyncPass): Promise<void> {
    const { groups, state } = this.#options;
    state.passStarted();
    const targets =
      pass.kind === 'sync' ? groups.list : groups.list.filter((g) => pass.groups.includes(g.name));
    // The first failure the server answered: the other steps still run, then the pass fails with it.
    let failure: unknown;
    const step = async (run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (error) {
        // No answer at all (network, timeout, a crashed replica): the rest would fare no better.
        if (serverRefusalOf(error) === undefined) throw error;
        failure ??= error;
      }
    };
    try {
      // Rows this pass uploaded so far, through any group.
      let uploaded = 0;
      for (const group of targets) {
        if (pass.kind === 'sync') {
          state.phase('uploading');
          await step(async () => {
            uploaded += await this.upload(group);
          });
        }
        // The loop's sync after local writes: pushes bring the others' changes, so no download,
        // unless the server poked the group meanwhile (a gap, or a table it could not push).
        if (
          pass.kind === 'sync' &&
          !pass.full &&
          uploaded > 0 &&
          this.#options.pushing?.(group.name) &&
          !pass.poked?.includes(group.name)
        ) {
          continue;
        }
        state.phase('downloading');
        await step(() => this.download(group));
      }
      if (failure !== undefined) throw failure;
    } finally {
      await state.recount().catch(() => undefined);
    }
  }

  #iso(): string {
    return new Date(this.#options.replica.now()).toISOString();
  }
}
