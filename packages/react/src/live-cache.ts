import type { LiveQuery } from '@carburetor/client';
import type { QueryClient, QueryKey } from '@tanstack/react-query';

interface Entry {
  readonly live: LiveQuery<unknown>;
  readonly queryKey: QueryKey;
  refs: number;
  readonly unsubscribe: () => void;
}

/**
 * The client's live queries behind one provider's TanStack cache: one
 * `client.live(query)` per query key while a mounted hook shows it, its
 * results written into the cache entry of that key. TanStack keeps the
 * state a hook returns (status, data, error, devtools); the client decides
 * when and how the rows change.
 */
export class LiveCache {
  readonly #queryClient: QueryClient;
  readonly #entries = new Map<string, Entry>();

  constructor(queryClient: QueryClient) {
    this.#queryClient = queryClient;
  }

  /**
   * Keeps the live query of `hash` open (made by `open` when there is none)
   * until the returned function is called as many times as this was.
   */
  retain(hash: string, queryKey: QueryKey, open: () => LiveQuery<unknown>): () => void {
    let entry = this.#entries.get(hash);
    if (!entry) {
      const live = open();
      const unsubscribe = live.subscribe((result) => {
        if (result.status === 'success') {
          this.#queryClient.setQueryData(queryKey, result.rows);
        } else if (result.status === 'error') {
          // Through a fetch, so TanStack records the error: its queryFn rejects with it.
          void this.#queryClient.refetchQueries({ queryKey, exact: true });
        }
      });
      entry = { live, queryKey, refs: 0, unsubscribe };
      this.#entries.set(hash, entry);
    }
    entry.refs++;
    const held = entry;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--held.refs > 0) return;
      this.#entries.delete(hash);
      held.unsubscribe();
      held.live.close();
      // Nobody follows its changes now: the next mount runs it again.
      void this.#queryClient.invalidateQueries({
        queryKey: held.queryKey,
        exact: true,
        refetchType: 'none',
      });
    };
  }

  /** The rows of the live query of `hash` once it has applied the changes so far; undefined without one. */
  result(hash: string): Promise<readonly unknown[]> | undefined {
    return this.#entries.get(hash)?.live.result();
  }

  /**
   * Resolves once every live query that reads `table` has applied the
   * changes announced so far (a write's own change among them): the cache
   * then holds what the lists will render.
   */
  async settled(table: string): Promise<void> {
    const reading = [...this.#entries.values()].filter(
      ({ live }) => live.tables.length === 0 || live.tables.includes(table),
    );
    await Promise.all(reading.map(({ live }) => live.result().catch(() => undefined)));
  }
}
