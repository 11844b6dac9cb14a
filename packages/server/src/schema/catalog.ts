import { type Kysely, sql } from 'kysely';

/** A column of an existing table, as the catalog describes it. */
export interface CatalogColumn {
  readonly name: string;
  /** `format_type(atttypid, atttypmod)`, e.g. `timestamp with time zone`, `character varying(20)`. */
  readonly type: string;
  readonly notNull: boolean;
  /** A default, an identity or a generated expression fills it when an insert leaves it out. */
  readonly filled: boolean;
  readonly hasDefault: boolean;
}

/** A trigger on an existing table. */
export interface CatalogTrigger {
  readonly functionName: string;
  readonly type: number;
  readonly args: readonly string[];
  readonly enabled: boolean;
  /** Name of its NEW TABLE transition relation, if it has one. */
  readonly newTable: string | null;
}

/** An existing relation with one of the config's table names. */
export interface CatalogTable {
  readonly name: string;
  /** `pg_class.relkind`: `r` and `p` are tables. */
  readonly kind: string;
  readonly columns: ReadonlyMap<string, CatalogColumn>;
  readonly primaryKey: readonly string[];
  readonly triggers: ReadonlyMap<string, CatalogTrigger>;
}

/** What the migration needs to know of the current schema. */
export interface Catalog {
  readonly schema: string;
  readonly tables: ReadonlyMap<string, CatalogTable>;
  /** Names of the relations (indexes included) among the ones asked for. */
  readonly relations: ReadonlySet<string>;
}

/**
 * Reads the tables, columns, primary keys, triggers and index names the
 * migration compares against, in the schema where unqualified DDL goes
 * (`current_schema()`).
 */
export async function readCatalog(
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  db: Kysely<any>,
  tableNames: readonly string[],
  indexNames: readonly string[],
): Promise<Catalog> {
  const schemaRow = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(
    db,
  );
  const schema = schemaRow.rows[0]?.schema ?? null;
  if (schema === null) return { schema: '', tables: new Map(), relations: new Set() };
  const namespace = sql`(select oid from pg_namespace where nspname = ${schema})`;
  const list = sql.join([...tableNames, ...indexNames].map((name) => sql`${name}`));

  const relations = await sql<{ name: string; kind: string }>`
    select relname as name, relkind::text as kind from pg_class
    where relnamespace = ${namespace} and relname in (${list})`.execute(db);
  const wanted = new Set(tableNames);
  const found = relations.rows.filter(
    (r) => wanted.has(r.name) && (r.kind === 'r' || r.kind === 'p'),
  );
  const tables = new Map<string, CatalogTable>();
  if (found.length > 0) {
    const tableList = sql.join(found.map((r) => sql`${r.name}`));
    const columns = await sql<{
      table: string;
      name: string;
      type: string;
      not_null: boolean;
      has_default: boolean;
      filled: boolean;
    }>`
      select c.relname as table, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
        a.attnotnull as not_null, a.atthasdef as has_default,
        (a.atthasdef or a.attidentity <> '' or a.attgenerated <> '') as filled
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relnamespace = ${namespace} and c.relname in (${tableList})
        and a.attnum > 0 and not a.attisdropped
      order by c.relname, a.attnum`.execute(db);
    const keys = await sql<{ table: string; columns: string[] }>`
      select c.relname as table,
        array(select a.attname::text from unnest(k.conkey) with ordinality as u(attnum, n)
              join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum order by u.n) as columns
      from pg_constraint k join pg_class c on c.oid = k.conrelid
      where k.contype = 'p' and c.relnamespace = ${namespace} and c.relname in (${tableList})`.execute(
      db,
    );
    const triggers = await sql<{
      table: string;
      name: string;
      function_name: string;
      type: number;
      args: string;
      enabled: string;
      new_table: string | null;
    }>`
      select c.relname as table, t.tgname as name, p.proname as function_name, t.tgtype::int as type,
        encode(t.tgargs, 'escape') as args, t.tgenabled::text as enabled,
        t.tgnewtable::text as new_table
      from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_proc p on p.oid = t.tgfoid
      where not t.tgisinternal and c.relnamespace = ${namespace} and c.relname in (${tableList})`.execute(
      db,
    );
    const columnsOf = new Map<string, Map<string, CatalogColumn>>();
    const triggersOf = new Map<string, Map<string, CatalogTrigger>>();
    for (const { name, kind } of found) {
      const tableColumns = new Map<string, CatalogColumn>();
      const tableTriggers = new Map<string, CatalogTrigger>();
      columnsOf.set(name, tableColumns);
      triggersOf.set(name, tableTriggers);
      tables.set(name, {
        name,
        kind,
        columns: tableColumns,
        primaryKey: keys.rows.find((k) => k.table === name)?.columns ?? [],
        triggers: tableTriggers,
      });
    }
    for (const c of columns.rows) {
      columnsOf.get(c.table)?.set(c.name, {
        name: c.name,
        type: c.type,
        notNull: c.not_null,
        hasDefault: c.has_default,
        filled: c.filled,
      });
    }
    for (const t of triggers.rows) {
      triggersOf.get(t.table)?.set(t.name, {
        functionName: t.function_name,
        type: t.type,
        // tgargs holds each argument followed by a NUL byte, which encode(..., 'escape') shows as \000.
        args: t.args === '' ? [] : t.args.split('\\000').slice(0, -1),
        enabled: t.enabled === 'O',
        newTable: t.new_table,
      });
    }
  }
  for (const r of relations.rows) {
    if (wanted.has(r.name) && !tables.has(r.name))
      tables.set(r.name, emptyRelation(r.name, r.kind));
  }
  return { schema, tables, relations: new Set(relations.rows.map((r) => r.name)) };
}

function emptyRelation(name: string, kind: string): CatalogTable {
  return { name, kind, columns: new Map(), primaryKey: [], triggers: new Map() };
}
