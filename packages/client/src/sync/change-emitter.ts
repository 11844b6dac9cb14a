/**
 * Which tables' rows changed, and why: what `client.onChange` listeners
 * receive after each committed change.
 *
 * @example
 * ```ts
 * client.onChange((event: ChangeEvent) => {
 *   if (event.tables.includes('phone_book')) queryClient.invalidateQueries({ queryKey: ['phone_book'] });
 * });
 * ```
 */
export interface ChangeEvent {
  /** The table keys (`'phone_book'`) whose rows changed, in config order, never empty. */
  readonly tables: readonly string[];
  /** `local`: a local write (or discard, reset) committed; `sync`: a download page or an upload acknowledgement changed rows. */
  readonly source: 'local' | 'sync';
  /**
   * The ids of the rows that changed (written, merged, deleted or removed),
   * per table key, for the tables where the change knows them: local
   * writes, download pages, upload acknowledgements, discard. A table of
   * `tables` missing here changed as a whole (a reset, a download that
   * swept rows out of scope, an event from a client that sends no ids):
   * any of its rows may have changed. Not enumerable, so code that compares
   * or logs events as `{ tables, source }` sees what it always saw; a
   * spread, `JSON.stringify` or structured clone of the event leaves it out
   * (a custom `ChangeChannel` sends `{ tables, source, ids }` explicitly).
   */
  readonly ids?: Readonly<Partial<Record<string, readonly string[]>>>;
}

/**
 * The ids of the rows a commit changed, per table key; a table it changed
 * without knowing which rows is left out (see {@link ChangeEvent.ids}).
 */
export type ChangedIds = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Called after each committed change.
 *
 * @example
 * ```ts
 * const listener: ChangeListener = ({ tables, source }) => console.log(source, tables);
 * const unsubscribe = client.onChange(listener);
 * ```
 */
export type ChangeListener = (event: ChangeEvent) => void;

/**
 * An event as a plain object, `ids` included (enumerable): what a change
 * channel sends to the other clients of a shared replica.
 *
 * @example
 * ```ts
 * channel.postMessage(changeMessage(event)); // survives structured clone
 * ```
 */
export function changeMessage(event: ChangeEvent): ChangeEvent {
  const { tables, source, ids } = event;
  return ids === undefined ? { tables, source } : { tables, source, ids };
}

/** Sends change events to listeners; an empty change is not an event. */
export class ChangeEmitter {
  #listeners = new Set<ChangeListener>();
  readonly #order: ReadonlyMap<string, number>;

  /** `tableKeys`: the config's table keys, in the order events list them. */
  constructor(tableKeys: readonly string[]) {
    this.#order = new Map(tableKeys.map((key, i) => [key, i]));
  }

  /**
   * Tells the listeners that rows of `tables` changed (`ids`: which ones,
   * for the tables where they are known). Returns the event, for the other
   * clients of a shared replica; undefined when nothing changed.
   */
  emit(
    tables: Iterable<string>,
    source: ChangeEvent['source'],
    ids?: ChangedIds,
  ): ChangeEvent | undefined {
    const keys = [...new Set(tables)];
    if (keys.length === 0) return undefined;
    keys.sort((a, b) => (this.#order.get(a) ?? 0) - (this.#order.get(b) ?? 0));
    const event: ChangeEvent = { tables: Object.freeze(keys), source };
    const known: Record<string, readonly string[]> = {};
    let some = false;
    for (const key of keys) {
      const changed = ids?.get(key);
      if (changed === undefined) continue;
      known[key] = Object.freeze([...changed]);
      some = true;
    }
    if (some) {
      Object.defineProperty(event, 'ids', { value: Object.freeze(known), enumerable: false });
    }
    this.#dispatch(Object.freeze(event));
    return event;
  }

  /** Tells the listeners of another client's event, as the change channel brought it. */
  forward(message: ChangeEvent): void {
    const ids = new Map<string, Set<string>>();
    for (const [key, list] of Object.entries(message.ids ?? {})) {
      if (Array.isArray(list)) ids.set(key, new Set(list));
    }
    this.emit(message.tables, message.source, ids);
  }

  #dispatch(event: ChangeEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        console.error('Carburetor: a change listener threw', error);
      }
    }
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
