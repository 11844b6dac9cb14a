import type { AnySyncConfig, ResolvedColumn, ResolvedTable } from '@carburetor/core';
import {
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PrimitiveValueListNode,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type ValueNode,
} from 'kysely';
import { sqlTablesOf } from '../live/query-tables.ts';
import { fromStored } from './row-codec.ts';

const bit = (value: unknown) => (typeof value === 'boolean' ? (value ? 1 : 0) : value);

/** SQLite has no booleans: `where('done', '=', true)` compares with 1. */
class BooleanParameters extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode, queryId?: QueryId): ValueNode {
    const out = super.transformValue(node, queryId);
    return typeof out.value === 'boolean' ? { ...out, value: bit(out.value) } : out;
  }

  protected override transformPrimitiveValueList(
    node: PrimitiveValueListNode,
    queryId?: QueryId,
  ): PrimitiveValueListNode {
    const out = super.transformPrimitiveValueList(node, queryId);
    return out.values.some((v) => typeof v === 'boolean')
      ? { ...out, values: out.values.map(bit) }
      : out;
  }
}

type Decoder = (raw: unknown) => unknown;

/**
 * The replica's decoding ({@link fromStored}), for the columns whose stored
 * form differs from the app's: the deleted flag, boolean, bigint, jsonb.
 */
function decoderOf(column: ResolvedColumn): Decoder | undefined {
  const differs =
    column.role === 'isDeleted' ||
    (column.role === 'data' &&
      (column.kind === 'boolean' || column.kind === 'bigint' || column.kind === 'jsonb'));
  if (!differs) return undefined;
  return (raw) => (raw === null || raw === undefined ? raw : fromStored(column, raw));
}

/**
 * A kysely plugin that gives back the app's types for replica columns:
 * booleans as `true`/`false`, jsonb parsed, bigint as a decimal string. It
 * decodes a result column when its name is a column of a Carburetor table the
 * query reads (the first such table in the query wins a name clash).
 * Aliased or computed columns (`select('name as n')`, `count(...)`) come back
 * as SQLite returned them. Boolean parameters are sent as 1 and 0, so
 * `where('done', '=', true)` works.
 *
 * @example
 * ```ts
 * const db = new Kysely<ClientDatabase<typeof config>>({
 *   dialect: new SqliteDriverDialect(driver),
 *   plugins: [new ReplicaDecodePlugin(config)],
 * });
 * ```
 */
export class ReplicaDecodePlugin implements KyselyPlugin {
  readonly #tables = new Map<string, Map<string, Decoder>>();
  readonly #queries = new WeakMap<QueryId, Map<string, Decoder>>();
  readonly #parameters = new BooleanParameters();

  constructor(config: AnySyncConfig) {
    for (const table of Object.values(config.tables) as ResolvedTable[]) {
      const decoders = new Map<string, Decoder>();
      for (const column of table.columns) {
        const decoder = decoderOf(column);
        if (decoder) decoders.set(column.name, decoder);
      }
      this.#tables.set(table.sqlName, decoders);
    }
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const names = sqlTablesOf(args.node);
    const decoders = new Map<string, Decoder>();
    for (const name of names) {
      for (const [column, decoder] of this.#tables.get(name) ?? []) {
        if (!decoders.has(column)) decoders.set(column, decoder);
      }
    }
    if (decoders.size > 0) this.#queries.set(args.queryId, decoders);
    return this.#parameters.transformNode(args.node, args.queryId);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const decoders = this.#queries.get(args.queryId);
    if (!decoders || args.result.rows.length === 0) return args.result;
    const rows = args.result.rows.map((row) => {
      const out: UnknownRow = {};
      for (const key of Object.keys(row)) {
        const decoder = decoders.get(key);
        out[key] = decoder ? decoder(row[key]) : row[key];
      }
      return out;
    });
    return { ...args.result, rows };
  }
}
