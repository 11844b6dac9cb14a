import type { CompiledQuery } from 'kysely';

/** Marks a query whose tables could not be found: it refreshes on a change to any table. */
export const ANY_TABLE = '*';

function collect(node: unknown, into: Set<string>, depth: number): void {
  if (depth > 64 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) collect(item, into, depth + 1);
    return;
  }
  const record = node as Record<string, unknown>;
  if (record['kind'] === 'TableNode') {
    const name = (record['table'] as { identifier?: { name?: unknown } } | undefined)?.identifier
      ?.name;
    if (typeof name === 'string') into.add(name);
    return;
  }
  for (const value of Object.values(record)) collect(value, into, depth + 1);
}

/**
 * The table keys a compiled query reads: the TableNodes of its operation
 * tree (from, joins, subqueries, CTE bodies), mapped from SQL names to keys.
 * `[ANY_TABLE]` when it names none of the config's tables (a raw `sql` query).
 */
export function tablesOfQuery(
  compiled: CompiledQuery,
  keyOfSqlName: ReadonlyMap<string, string>,
): readonly string[] {
  const names = new Set<string>();
  collect(compiled.query, names, 0);
  const keys = [...names].flatMap((name) => {
    const key = keyOfSqlName.get(name);
    return key === undefined ? [] : [key];
  });
  return keys.length === 0 ? [ANY_TABLE] : [...new Set(keys)].sort();
}

/** Query parameters as JSON-safe values, for TanStack's query key hash. */
export function keyParameters(parameters: readonly unknown[]): unknown[] {
  return parameters.map((value) => {
    if (typeof value === 'bigint') return { bigint: value.toString() };
    if (value instanceof Uint8Array) return { bytes: [...value] };
    if (value instanceof Date) return { date: value.toISOString() };
    return value;
  });
}
