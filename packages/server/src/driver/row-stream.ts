import type { PostgresCursor } from 'kysely';
import type pg from 'pg';
import { exactPgTypes } from './exact-pg-types.ts';
import { pgModule } from './pg-module.ts';

/**
 * A query whose rows are handed over in chunks as PostgreSQL sends them:
 * kysely's `cursor` for `.stream()` on the pg dialect. Rows are parsed with
 * the exact parsers, and nothing holds the whole result, so a reader that
 * works through each chunk keeps little alive (each chunk's garbage dies
 * young instead of being copied between heap generations).
 *
 * Unlike pg-cursor it reads the result in one go rather than a portal
 * fetch per chunk: PostgreSQL keeps producing rows while the reader works.
 *
 * @example
 * ```ts
 * for await (const chunk of db.getExecutor().stream(query.compile(db), 1000)) {
 *   for (const row of chunk.rows) handle(row);
 * }
 * ```
 *
 */
export type RowStream<R> = pg.Query & PostgresCursor<R>;

/** The RowStream class, made on first use: it extends pg's Query, and pg loads lazily (pg-module.ts). */
export const rowStreamClass: () => new <R>(text: string, values: unknown[]) => RowStream<R> = once(
  () => {
    const { Query } = pgModule();
    return class RowStream<R> extends Query implements PostgresCursor<R> {
      #rows: R[] = [];
      #ended = false;
      #closed = false;
      #error: Error | undefined;
      #wanted = 0;
      #wake: (() => void) | undefined;
      readonly #settled: Promise<void>;

      constructor(text: string, values: unknown[]) {
        super({ text, values, types: exactPgTypes });
        // Listening to 'row' (from the start) is what keeps pg from collecting the rows itself.
        this.on('row', (row: R) => {
          if (this.#closed) return;
          this.#rows.push(row);
          if (this.#rows.length >= this.#wanted) this.#wake?.();
        });
        this.#settled = new Promise<void>((resolve) => {
          this.on('end', () => {
            this.#ended = true;
            this.#wake?.();
            resolve();
          });
          this.on('error', (error: Error) => {
            this.#error = error;
            this.#ended = true;
            this.#wake?.();
            resolve();
          });
        });
      }

      /** The next rows, at most `count`, once that many arrived or the result ended; none at the end. */
      async read(count: number): Promise<R[]> {
        while (this.#rows.length < count && !this.#ended) {
          this.#wanted = count;
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
        }
        if (this.#error) throw this.#error;
        if (this.#rows.length <= count) {
          const rows = this.#rows;
          this.#rows = [];
          return rows;
        }
        return this.#rows.splice(0, count);
      }

      /** Drops what is left and waits for the query to end, so the connection is free again. */
      async close(): Promise<void> {
        this.#closed = true;
        this.#rows = [];
        await this.#settled;
      }
    };
  },
);

/** Runs `make` once, on the first call, and returns its result from then on. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}
