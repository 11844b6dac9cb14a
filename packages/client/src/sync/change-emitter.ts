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
}

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

/** Sends change events to listeners; an empty change is not an event. */
export class ChangeEmitter {
  #listeners = new Set<ChangeListener>();
  readonly #order: ReadonlyMap<string, number>;

  /** `tableKeys`: the config's table keys, in the order events list them. */
  constructor(tableKeys: readonly string[]) {
    this.#order = new Map(tableKeys.map((key, i) => [key, i]));
  }

  emit(tables: Iterable<string>, source: ChangeEvent['source']): void {
    const keys = [...new Set(tables)];
    if (keys.length === 0 || this.#listeners.size === 0) return;
    keys.sort((a, b) => (this.#order.get(a) ?? 0) - (this.#order.get(b) ?? 0));
    const event: ChangeEvent = Object.freeze({ tables: Object.freeze(keys), source });
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
