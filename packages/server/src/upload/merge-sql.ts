import type { JsonValue, ResolvedColumn, ResolvedTable, WireMetadata } from '@carburetor/core';
import { type QueryExecutorProvider, type RawBuilder, sql } from 'kysely';
import type { TableScope } from './authorize.ts';
import type { RawRow } from './resolved-rows.ts';

/**
 * The set-based statements of an upload, one of each kind per table and
 * request. Uploaded rows travel as one jsonb parameter read by
 * `jsonb_to_recordset`, so every value is a parameter and the statement
 * text depends only on the config. The merge is core's `mergeRow` in SQL:
 * per column, the incoming value wins when its (write time, client id) is
 * greater than the stored one's, client ids compared in code-unit order
 * (`COLLATE "C"`); the deleted flag is a one-way switch, true wins
 * ({@link deletedFlagWins}).
 */

/** One row to write: wire values and stamps of the columns it sets. */
export interface IncomingRecord {
  id: string;
  values: Record<string, JsonValue>;
  stamps: WireMetadata;
}

// Aliases of the stored row and of the uploaded records. User columns may not
// start with `_carburetor`, so they never collide with these.
const STORED = '_carburetor_stored';
const INCOMING = '_carburetor_incoming';
/** Key of each record's stamps in the jsonb parameter ({column: {t, c}}, server metadata shape). */
const STAMPS = '_carburetor_stamps';

// `jsonb_build_object` takes at most 100 arguments: 50 columns.
const COLUMNS_PER_OBJECT = 40;

const ref = (alias: string, column: string) => sql.id(alias, column);

/** Compares two stamps given as jsonb `{t, c}`: whether `incoming` beats `stored` (a missing one loses). */
export function beats(
  incoming: RawBuilder<unknown>,
  stored: RawBuilder<unknown>,
): RawBuilder<boolean> {
  return sql<boolean>`(${stored} is null or ((${incoming}->>'t')::bigint, (${incoming}->>'c') collate "C") > ((${stored}->>'t')::bigint, (${stored}->>'c') collate "C"))`;
}

/** Where the incoming side of a merge comes from: the uploaded records, or EXCLUDED. */
interface IncomingSide {
  value(column: ResolvedColumn): RawBuilder<unknown>;
  stamps: RawBuilder<unknown>;
}

function incomingWins(table: ResolvedTable, side: IncomingSide, name: string): RawBuilder<boolean> {
  const incoming = sql`${side.stamps}->${sql.lit(name)}`;
  const stored = sql`${ref(STORED, table.columnSyncMetadata)}->${sql.lit(name)}`;
  if (name !== table.isDeleted)
    return sql<boolean>`(${incoming} is not null and ${beats(incoming, stored)})`;
  const flag = deletedFlagWins(
    side.value(table.column[name]!),
    ref(STORED, name),
    incoming,
    stored,
  );
  return sql<boolean>`(${incoming} is not null and ${flag})`;
}

/**
 * The deleted flag's one-way rule in SQL, core's `mergeDeletedFlag`
 * (`core/src/rules/deleted-flag.ts`, docs/sync-semantics.md §3): whether the
 * incoming flag wins. True beats false whatever the stamps; equal flags
 * compare stamps. `deleted-flag.property.test.ts` checks the two agree.
 */
export function deletedFlagWins(
  theirs: RawBuilder<unknown>,
  ours: RawBuilder<unknown>,
  incomingStamp: RawBuilder<unknown>,
  storedStamp: RawBuilder<unknown>,
): RawBuilder<boolean> {
  return sql<boolean>`((${theirs} and not ${ours}) or (${theirs} = ${ours} and ${beats(incomingStamp, storedStamp)}))`;
}

/**
 * `SET` assignments of the merge: each of `names` (the synced columns some
 * record carries; the others cannot change) and the metadata.
 */
function mergeAssignments(
  table: ResolvedTable,
  side: IncomingSide,
  names: readonly string[],
): RawBuilder<unknown> {
  const wins = new Map(names.map((name) => [name, incomingWins(table, side, name)]));
  const assignments = names.map(
    (name) =>
      sql`${sql.id(name)} = case when ${wins.get(name)!} then ${side.value(table.column[name]!)} else ${ref(STORED, name)} end`,
  );
  const objects: RawBuilder<unknown>[] = [];
  for (let i = 0; i < names.length; i += COLUMNS_PER_OBJECT) {
    const pairs = names
      .slice(i, i + COLUMNS_PER_OBJECT)
      .map(
        (name) =>
          sql`${sql.lit(name)}, case when ${wins.get(name)!} then ${side.stamps}->${sql.lit(name)} end`,
      );
    objects.push(sql`jsonb_strip_nulls(jsonb_build_object(${sql.join(pairs)}))`);
  }
  const metadata = ref(STORED, table.columnSyncMetadata);
  assignments.push(
    sql`${sql.id(table.columnSyncMetadata)} = coalesce(${metadata}, '{}'::jsonb) || ${sql.join(objects, sql` || `)}`,
  );
  return sql.join(assignments);
}

/** A wire value as a typed PostgreSQL expression (a parameter; bytes decoded from base64): download's `wireValueSql` the other way. */
export function pgValueSql(column: ResolvedColumn, wire: JsonValue): RawBuilder<unknown> {
  if (wire === null) return sql`null`;
  if (column.kind === 'bytea') return sql`decode(${wire}, 'base64')`;
  if (column.kind === 'jsonb') return sql`cast(${JSON.stringify(wire)} as jsonb)`;
  return sql`cast(${String(wire)} as ${sql.raw(column.type.pg)})`;
}

/** The uploaded records as a relation: `jsonb_to_recordset($1) as _carburetor_incoming(...)`. */
function incomingRelation(table: ResolvedTable, records: readonly IncomingRecord[]) {
  const definitions = [
    sql`${sql.id(table.id)} text`,
    ...table.syncedColumns.map((name) => {
      const column = table.column[name]!;
      // Bytes travel as base64 text and are decoded where they are used.
      return sql`${sql.id(name)} ${sql.raw(column.kind === 'bytea' ? 'text' : column.type.pg)}`;
    }),
    sql`${sql.id(STAMPS)} jsonb`,
  ];
  const json = JSON.stringify(
    records.map((record) => ({
      ...record.values,
      [table.id]: record.id,
      [STAMPS]: record.stamps,
    })),
  );
  return sql`jsonb_to_recordset(cast(${json} as jsonb)) as ${sql.id(INCOMING)}(${sql.join(definitions)})`;
}

function recordValue(column: ResolvedColumn): RawBuilder<unknown> {
  const value = ref(INCOMING, column.name);
  return column.kind === 'bytea' ? sql`decode(${value}, 'base64')` : value;
}

/** The synced columns some record carries, in table order. */
function carriedColumns(table: ResolvedTable, records: readonly IncomingRecord[]): string[] {
  const carried = new Set(records.flatMap((record) => Object.keys(record.stamps)));
  return table.syncedColumns.filter((name) => carried.has(name));
}

/** What the statements return: the columns the checks and the response read. */
function returned(table: ResolvedTable): RawBuilder<unknown> {
  return sql.join(
    [table.id, ...table.syncedColumns, table.columnSyncMetadata, table.lastSyncedAt].map((name) =>
      ref(STORED, name),
    ),
  );
}

/**
 * Locks the stored rows with these ids (in id order, so two uploads touching
 * the same rows cannot deadlock) and returns them.
 */
export async function lockRows(
  db: QueryExecutorProvider,
  table: ResolvedTable,
  ids: readonly string[],
): Promise<RawRow[]> {
  if (ids.length === 0) return [];
  const { rows } =
    await sql<RawRow>`select ${returned(table)} from ${sql.id(table.sqlName)} as ${sql.id(STORED)} where ${ref(STORED, table.id)} = any(array(select jsonb_array_elements_text(cast(${JSON.stringify(ids)} as jsonb)))) order by ${ref(STORED, table.id)} for update`.execute(
      db,
    );
  return rows;
}

/**
 * Merges records into rows that exist and are locked: one UPDATE ... FROM.
 * Returns the rows as written.
 */
export async function mergeIntoStored(
  db: QueryExecutorProvider,
  scope: TableScope,
  records: readonly IncomingRecord[],
): Promise<RawRow[]> {
  if (records.length === 0) return [];
  const { table, restriction } = scope;
  const side: IncomingSide = { value: recordValue, stamps: ref(INCOMING, STAMPS) };
  // The rows are locked and were authorized; the restriction is checked again as a safety net.
  const guard = restriction
    ? sql` and ${ref(STORED, restriction.column.name)} = ${pgValueSql(restriction.column, restriction.wire)}`
    : sql``;
  const { rows } =
    await sql<RawRow>`update ${sql.id(table.sqlName)} as ${sql.id(STORED)} set ${mergeAssignments(table, side, carriedColumns(table, records))} from ${incomingRelation(table, records)} where ${ref(STORED, table.id)} = ${ref(INCOMING, table.id)}${guard} returning ${returned(table)}`.execute(
      db,
    );
  return rows;
}

/**
 * Inserts records for ids that did not exist when the rows were locked: one
 * INSERT ... ON CONFLICT. If another transaction inserted the same id in the
 * meantime, its row is merged like a locked one, but only when it is in the
 * caller's scope before and after, with the same immutable values; a row
 * the guard refuses is left as it is and is missing from the result.
 */
export async function insertNew(
  db: QueryExecutorProvider,
  scope: TableScope,
  records: readonly IncomingRecord[],
): Promise<RawRow[]> {
  if (records.length === 0) return [];
  const { table, restriction, filter } = scope;
  const excluded = (name: string) => sql.id('excluded', name);
  const side: IncomingSide = {
    value: (column) => excluded(column.name),
    stamps: excluded(table.columnSyncMetadata),
  };
  const guard: RawBuilder<unknown>[] = [];
  if (restriction) {
    const name = restriction.column.name;
    guard.push(sql`${ref(STORED, name)} = ${excluded(name)}`);
  }
  for (const column of table.dataColumns) {
    if (column.immutable && column.name !== restriction?.column.name) {
      guard.push(sql`${ref(STORED, column.name)} is not distinct from ${excluded(column.name)}`);
    }
  }
  for (const { column, wire } of filter) {
    const expected = pgValueSql(column, wire);
    const merged = sql`case when ${incomingWins(table, side, column.name)} then ${excluded(column.name)} else ${ref(STORED, column.name)} end`;
    guard.push(sql`${ref(STORED, column.name)} is not distinct from ${expected}`);
    guard.push(sql`${merged} is not distinct from ${expected}`);
  }
  const columns = [table.id, ...table.syncedColumns, table.columnSyncMetadata];
  const values = [
    ref(INCOMING, table.id),
    ...table.syncedColumns.map((name) => recordValue(table.column[name]!)),
    ref(INCOMING, STAMPS),
  ];
  const where = guard.length > 0 ? sql` where ${sql.join(guard, sql` and `)}` : sql``;
  const { rows } =
    await sql<RawRow>`insert into ${sql.id(table.sqlName)} as ${sql.id(STORED)} (${sql.join(columns.map((name) => sql.id(name)))}) select ${sql.join(values)} from ${incomingRelation(table, records)} order by ${ref(INCOMING, table.id)} on conflict (${sql.id(table.id)}) do update set ${mergeAssignments(table, side, table.syncedColumns)}${where} returning ${returned(table)}`.execute(
      db,
    );
  return rows;
}
