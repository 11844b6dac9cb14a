import type { AnySyncConfig, ResolvedTable } from '@carburetor/core';

/** How deep the walk goes into an operation tree; kysely's trees are far shallower. */
const MAX_DEPTH = 64;

function collect(node: unknown, into: Set<string>, depth: number): void {
  if (depth > MAX_DEPTH || node === null || typeof node !== 'object') return;
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
 * The SQL names in the TableNodes of a kysely operation tree: the tables of
 * `from`, joins, subqueries and CTE bodies (and the aliases a column
 * reference is qualified with, which name no table of a config). Raw `sql`
 * text is not read.
 *
 * @example
 * ```ts
 * sqlTablesOf(db.selectFrom('phone_books').selectAll().toOperationNode()); // Set { 'phone_books' }
 * ```
 */
export function sqlTablesOf(node: unknown): Set<string> {
  const names = new Set<string>();
  collect(node, names, 0);
  return names;
}

/** SQL table name → the config's table. */
export function tablesBySqlName(config: AnySyncConfig): ReadonlyMap<string, ResolvedTable> {
  return new Map(
    (Object.values(config.tables) as ResolvedTable[]).map((table) => [table.sqlName, table]),
  );
}

/**
 * The keys of the config's tables a query reads (from, joins, subqueries,
 * CTE bodies), in the order of `bySqlName`; empty when it names none of
 * them (a raw `sql` query).
 *
 * @example
 * ```ts
 * tablesRead(query.toOperationNode(), tablesBySqlName(config)); // ['phone_book', 'note']
 * ```
 */
export function tablesRead(
  node: unknown,
  bySqlName: ReadonlyMap<string, ResolvedTable>,
): readonly string[] {
  const names = sqlTablesOf(node);
  const keys: string[] = [];
  for (const [sqlName, table] of bySqlName) if (names.has(sqlName)) keys.push(table.key);
  return keys;
}
