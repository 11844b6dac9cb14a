/** What the test page exposes to Playwright as `window.app`. */
export interface PageApp {
  /** Where the replica lives: `'opfs'` (or `'memory'`, the fallback). */
  storage(): string | undefined;
  /** The names the Carburetor list shows, in order. */
  names(): string[];
  /** The `pendingCount` that `useSyncStatus()` rendered. */
  pending(): number;
  /** How often each list rendered. */
  renders(): { carburetor: number; plain: number };
  /** Inserts through `useInsertPhoneBook`; resolves to the new id. */
  insert(name: string): Promise<string>;
  /** Deletes through `useDeletePhoneBook`. */
  remove(id: string): Promise<void>;
  /** Inserts `n` rows in one transaction and waits for the list to show them. */
  seed(n: number): Promise<void>;
  /** Mounts the plain-React list with the rows the Carburetor list shows. */
  mountPlain(): Promise<void>;
  /** ms from a hook insert to the commit of the list that shows it. */
  timeCarburetorInsert(): Promise<number>;
  /** ms from a plain `setState` append to the commit of the list that shows it. */
  timePlainInsert(): Promise<number>;
  /** ms of the list's query alone (worker round trip and decoding). */
  timeQuery(): Promise<number>;
  /** ms of one local insert alone (the worker's transaction). */
  timeWrite(): Promise<number>;
}

declare global {
  var app: PageApp;
}
