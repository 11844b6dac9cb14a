/** What the sync steps report to the client as they commit. */
export interface SyncObserver {
  /**
   * A download page was committed: the table keys whose rows it changed
   * (empty when it changed nothing) and how many entries it delivered.
   */
  pageApplied(changedTables: ReadonlySet<string>, delivered: number): void;
  /** An upload answer was committed: the table keys whose rows it changed. Awaited. */
  answerApplied(changedTables: ReadonlySet<string>): Promise<void>;
}
