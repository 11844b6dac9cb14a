/**
 * Text cut to `length` characters, an ellipsis marking the cut: what a
 * message quotes (a field path, a database's reason, a value) never grows
 * an answer without bound.
 *
 * @example
 * ```ts
 * clipText('x'.repeat(5_000), 300).length; // 300
 * ```
 */
export function clipText(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
