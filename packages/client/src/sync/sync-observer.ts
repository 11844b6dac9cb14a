import type { ChangedIds } from './change-emitter.ts';
import type { DownloadProgress } from './download-progress.ts';

/** What the sync steps report to the client as they commit. */
export interface SyncObserver {
  /**
   * A download page was committed: the table keys whose rows it changed
   * (empty when it changed nothing), how many entries it delivered, and
   * the ids of the rows it changed, by table key.
   */
  pageApplied(changedTables: ReadonlySet<string>, delivered: number, changedIds: ChangedIds): void;
  /** First downloads moved on: the new progress of the tables a committed page advanced. */
  progressed?(progress: readonly DownloadProgress[]): void;
  /** An upload answer was committed: the table keys and the ids of the rows it changed. Awaited. */
  answerApplied(changedTables: ReadonlySet<string>, changedIds: ChangedIds): Promise<void>;
}
