import type { ResolvedTable } from '@carburetor/core';
import {
  AliasNode,
  AndNode,
  BinaryOperationNode,
  ColumnNode,
  IdentifierNode,
  type OperationNode,
  OperatorNode,
  OrderByItemNode,
  ParensNode,
  PrimitiveValueListNode,
  ReferenceNode,
  SelectionNode,
  SelectQueryNode,
  WhereNode,
} from 'kysely';
import { compareSqliteValues } from './sqlite-order.ts';

/** Prefix of the columns a patchable query selects for itself (and strips from the rows). */
const HIDDEN = '__carburetor_live_';
const HIDDEN_ID = `${HIDDEN}id`;
const hiddenKey = (i: number) => `${HIDDEN}k${i}`;

/** The parts of a select a patch can reproduce; any other part set means a re-run. */
const PATCHABLE_PARTS = new Set(['kind', 'from', 'selections', 'where', 'orderBy']);

/** What raw `sql` may hold in a patchable filter: comparisons with numbers, `is null`, `and`/`or`. */
const SAFE_RAW = /\s+|<>|!=|<=|>=|=|<|>|\(|\)|\b(?:is|not|null|and|or)\b|\b\d+(?:\.\d+)?\b/gi;

/** One row of a patchable query's result: the app's row, its id and its sort keys. */
export interface PlannedRow<R> {
  readonly row: R;
  readonly id: string;
  /** The values of the ORDER BY columns as SQLite stored them, then the rowid. */
  readonly keys: readonly unknown[];
}

/**
 * How to keep one simple query's result up to date row by row: a select
 * from one table, its filter on that row alone (no subquery, no other
 * table), its columns plain references, ordered by plain columns, with no
 * limit, grouping or distinct. The query runs with hidden columns (the id,
 * the ORDER BY columns as stored, the rowid) and `rowid` as its last sort
 * key, so every row has one place; after a change, only the changed ids are
 * read again (same filter, same columns) and merged in.
 */
export class PatchPlan {
  readonly table: ResolvedTable;
  /** The query as the live query runs it in full. */
  readonly full: SelectQueryNode;
  readonly #node: SelectQueryNode;
  /** 1 ascending, -1 descending, per key (the last one is the rowid, ascending). */
  readonly #directions: readonly (1 | -1)[];

  private constructor(
    table: ResolvedTable,
    node: SelectQueryNode,
    orderBy: readonly OperationNode[],
    directions: readonly (1 | -1)[],
  ) {
    this.table = table;
    const rowid = ReferenceNode.create(ColumnNode.create('rowid'));
    const hidden = [
      SelectionNode.create(
        AliasNode.create(
          ReferenceNode.create(ColumnNode.create(table.id)),
          IdentifierNode.create(HIDDEN_ID),
        ),
      ),
      ...[...orderBy, rowid].map((key, i) =>
        SelectionNode.create(AliasNode.create(key, IdentifierNode.create(hiddenKey(i)))),
      ),
    ];
    this.#node = SelectQueryNode.cloneWithSelections(node, hidden);
    this.full = SelectQueryNode.cloneWithOrderByItems(this.#node, [OrderByItemNode.create(rowid)]);
    this.#directions = [...directions, 1];
  }

  /**
   * The plan of `node`, or undefined when the query is not one a patch can
   * keep exact (then the live query re-runs it on every relevant change).
   */
  static of(
    node: OperationNode,
    bySqlName: ReadonlyMap<string, ResolvedTable>,
  ): PatchPlan | undefined {
    if (!SelectQueryNode.is(node)) return undefined;
    for (const [part, value] of Object.entries(node)) {
      if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
      if (!PATCHABLE_PARTS.has(part)) return undefined;
    }
    const source = fromTable(node);
    const table = source && bySqlName.get(source.table);
    if (!source || !table) return undefined;
    const names = new Set([source.table, ...(source.alias === undefined ? [] : [source.alias])]);
    if (!node.selections?.every((s) => plainSelection(s.selection, table, names))) return undefined;
    if (node.where && !rowLocal(node.where.where, names)) return undefined;
    const orderBy: OperationNode[] = [];
    const directions: (1 | -1)[] = [];
    for (const item of node.orderBy?.items ?? []) {
      if (item.nulls !== undefined || item.collation !== undefined) return undefined;
      if (!columnOf(item.orderBy, table, names)) return undefined;
      const direction = directionOf(item.direction);
      if (direction === undefined) return undefined;
      orderBy.push(item.orderBy);
      directions.push(direction);
    }
    return new PatchPlan(table, node, orderBy, directions);
  }

  /** The query for just these rows (same filter, same columns), in no particular order. */
  reread(ids: readonly string[]): SelectQueryNode {
    const only = BinaryOperationNode.create(
      ReferenceNode.create(ColumnNode.create(this.table.id)),
      OperatorNode.create('in'),
      PrimitiveValueListNode.create(ids),
    );
    const where = this.#node.where
      ? WhereNode.create(AndNode.create(ParensNode.create(this.#node.where.where), only))
      : WhereNode.create(only);
    return Object.freeze({ ...this.#node, where });
  }

  /** Splits a result row into the app's row (hidden columns stripped), its id and its sort keys. */
  split<R>(raw: Record<string, unknown>): PlannedRow<R> {
    const row: Record<string, unknown> = {};
    for (const key in raw) if (!key.startsWith(HIDDEN)) row[key] = raw[key];
    const keys: unknown[] = [];
    for (let i = 0; i < this.#directions.length; i++) keys.push(raw[hiddenKey(i)]);
    return { row: row as R, id: String(raw[HIDDEN_ID]), keys };
  }

  /** Orders two rows as the full query does. */
  compare(a: PlannedRow<unknown>, b: PlannedRow<unknown>): number {
    for (let i = 0; i < this.#directions.length; i++) {
      const d = compareSqliteValues(a.keys[i], b.keys[i]);
      if (d !== 0) return d * (this.#directions[i] as number);
    }
    return 0;
  }

  /**
   * The previous result with the rows of `changed` replaced by `fresh`
   * (those of them that still pass the filter), in order. `undefined` when
   * nothing changed in it.
   */
  merge<R>(
    previous: readonly PlannedRow<R>[],
    changed: ReadonlySet<string>,
    fresh: PlannedRow<R>[],
  ): PlannedRow<R>[] | undefined {
    const kept = previous.filter((entry) => !changed.has(entry.id));
    if (kept.length === previous.length && fresh.length === 0) return undefined;
    fresh.sort((a, b) => this.compare(a, b));
    const out: PlannedRow<R>[] = [];
    let i = 0;
    let j = 0;
    while (i < kept.length && j < fresh.length) {
      if (this.compare(kept[i]!, fresh[j]!) <= 0) out.push(kept[i++]!);
      else out.push(fresh[j++]!);
    }
    while (i < kept.length) out.push(kept[i++]!);
    while (j < fresh.length) out.push(fresh[j++]!);
    return out;
  }
}

/** The one table a select reads from, with its alias. */
function fromTable(node: SelectQueryNode): { table: string; alias?: string } | undefined {
  const froms = node.from?.froms ?? [];
  if (froms.length !== 1) return undefined;
  let from = froms[0] as OperationNode;
  let alias: string | undefined;
  if (AliasNode.is(from)) {
    if (!IdentifierNode.is(from.alias)) return undefined;
    alias = from.alias.name;
    from = from.node;
  }
  if (from.kind !== 'TableNode') return undefined;
  const { table } = from as unknown as {
    table: { schema?: unknown; identifier: { name: string } };
  };
  if (table.schema !== undefined) return undefined;
  return alias === undefined
    ? { table: table.identifier.name }
    : { table: table.identifier.name, alias };
}

/** Whether a reference is unqualified or qualified by the query's table (or its alias). */
function ownQualifier(node: ReferenceNode, names: ReadonlySet<string>): boolean {
  if (!node.table) return true;
  return names.has(node.table.table.identifier.name) && node.table.table.schema === undefined;
}

/** Whether `node` is a column of `table`, maybe qualified by the query's own name for it. */
function columnOf(node: OperationNode, table: ResolvedTable, names: ReadonlySet<string>): boolean {
  if (!ReferenceNode.is(node) || !ColumnNode.is(node.column)) return false;
  return ownQualifier(node, names) && Object.hasOwn(table.column, node.column.column.name);
}

/** `*`, `t.*`, a column, or an aliased column. */
function plainSelection(
  node: OperationNode,
  table: ResolvedTable,
  names: ReadonlySet<string>,
): boolean {
  if (node.kind === 'SelectAllNode') return true;
  if (ReferenceNode.is(node) && node.column.kind === 'SelectAllNode') {
    return ownQualifier(node, names);
  }
  if (AliasNode.is(node)) return columnOf(node.node, table, names);
  return columnOf(node, table, names);
}

/**
 * Whether a filter depends on its row alone: no subquery, no other table,
 * and raw `sql` limited to comparisons (the generated `active…()` filter is
 * raw: `"is_deleted" = 0`). Anything else could read other rows.
 */
function rowLocal(node: unknown, names: ReadonlySet<string>, depth = 0): boolean {
  if (depth > 64) return false;
  if (node === null || typeof node !== 'object') return true;
  if (Array.isArray(node)) return node.every((item) => rowLocal(item, names, depth + 1));
  const record = node as Record<string, unknown> & { kind?: unknown };
  switch (record.kind) {
    case 'SelectQueryNode':
      return false;
    case 'TableNode': {
      const { table } = record as unknown as {
        table: { schema?: unknown; identifier: { name: string } };
      };
      return table.schema === undefined && names.has(table.identifier.name);
    }
    case 'RawNode': {
      const fragments = record['sqlFragments'] as readonly string[];
      if (fragments.some((f) => f.replace(SAFE_RAW, '') !== '')) return false;
      return rowLocal(record['parameters'], names, depth + 1);
    }
    default:
      return Object.values(record).every((value) => rowLocal(value, names, depth + 1));
  }
}

/** 1 for none or `asc`, -1 for `desc`, undefined for anything else. */
function directionOf(node: OperationNode | undefined): 1 | -1 | undefined {
  if (node === undefined) return 1;
  if (node.kind !== 'RawNode') return undefined;
  const { sqlFragments, parameters } = node as unknown as {
    sqlFragments: readonly string[];
    parameters: readonly unknown[];
  };
  if (parameters.length > 0 || sqlFragments.length !== 1) return undefined;
  const word = sqlFragments[0]?.trim().toLowerCase();
  return word === 'asc' ? 1 : word === 'desc' ? -1 : undefined;
}
