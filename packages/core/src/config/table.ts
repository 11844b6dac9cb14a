import type { AnyColumn } from './column.ts';

/** The columns of a table, keyed by SQL column name. */
export type ColumnsShape = Record<string, AnyColumn>;

/** A table as declared; `defineSyncConfig` resolves it against its key. */
export interface Table<
  TColumns extends ColumnsShape = ColumnsShape,
  TPlural extends string | undefined = string | undefined,
> {
  readonly plural: TPlural;
  readonly columns: TColumns;
}

/** Any declared table. */
export type AnyTable = Table<ColumnsShape, string | undefined>;

/**
 * Declares a synced table. The plural names the SQL table and the query
 * helpers (`activePhoneBooks`); it defaults to the key plus `s`. Special
 * columns you leave out (`id`, `is_deleted`, `last_synced_at`,
 * `column_sync_metadata`, and the client's `dirty_flag`) are added.
 *
 * @example
 * ```ts
 * const phoneBook = table({ plural: 'phone_books' }, {
 *   name: text().validate(z.string().min(1)),
 *   phone_number: text(),
 *   note: text().nullable(),
 * });
 * ```
 */
export function table<const TColumns extends ColumnsShape>(
  columns: TColumns,
): Table<TColumns, undefined>;
export function table<
  const TColumns extends ColumnsShape,
  const TPlural extends string | undefined = undefined,
>(options: { plural?: TPlural }, columns: TColumns): Table<TColumns, TPlural>;
export function table(
  optionsOrColumns: { plural?: string } | ColumnsShape,
  maybeColumns?: ColumnsShape,
): AnyTable {
  const options = maybeColumns ? (optionsOrColumns as { plural?: string }) : {};
  const columns = maybeColumns ?? (optionsOrColumns as ColumnsShape);
  return Object.freeze({ plural: options.plural, columns: Object.freeze({ ...columns }) });
}
