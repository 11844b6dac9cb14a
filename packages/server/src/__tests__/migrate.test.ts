import {
  boolean,
  defineSyncConfig,
  integer,
  jsonb,
  table,
  text,
  timestamptz,
} from '@carburetor/core';
import { createTestDatabase } from '@carburetor/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { MigrationError } from '../errors.ts';
import { migrateServer } from '../schema/migrate.ts';

const database = await createTestDatabase('migrate');
// biome-ignore lint/suspicious/noExplicitAny: any schema
const db: Kysely<any> = createPgKysely(database.url);

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

function notesConfig(plural: string) {
  return defineSyncConfig({
    tables: {
      note: table(
        { plural },
        {
          owner_id: text().immutable(),
          title: text().default(`it's \\ "new"`),
          body: text().nullable(),
          pinned: boolean().default(false),
          tags: jsonb().default({ list: ['a'] }),
          due: timestamptz().defaultNow(),
          slug: text().defaultSql(`'n-' || md5(random()::text)`),
          record_deleted: boolean().isDeleted(),
        },
      ),
    },
    syncGroups: { mine: { note: { restrictTo: { column: 'owner_id', context: 'userId' } } } },
  });
}

/** Everything a migration could change in the public schema, as comparable text. */
async function catalogSnapshot(): Promise<unknown> {
  const columns = await sql`
    select table_name, column_name, data_type, is_nullable, column_default, ordinal_position
    from information_schema.columns where table_schema = 'public'
    order by table_name, ordinal_position`.execute(db);
  const indexes = await sql`
    select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname`.execute(
    db,
  );
  const triggers = await sql`
    select tgrelid::regclass::text as tbl, tgname, pg_get_triggerdef(oid) as def from pg_trigger
    where not tgisinternal order by 1, 2`.execute(db);
  const functions = await sql`
    select proname, prosrc from pg_proc where pronamespace = 'public'::regnamespace order by proname`.execute(
    db,
  );
  const constraints = await sql`
    select conrelid::regclass::text as tbl, conname, pg_get_constraintdef(oid) as def from pg_constraint
    where connamespace = 'public'::regnamespace order by 1, 2`.execute(db);
  return {
    columns: columns.rows,
    indexes: indexes.rows,
    triggers: triggers.rows,
    functions: functions.rows,
    constraints: constraints.rows,
  };
}

async function columnsOf(tableName: string) {
  const { rows } = await sql<{
    column_name: string;
    type: string;
    not_null: boolean;
    def: string | null;
  }>`
    select a.attname as column_name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
      pg_get_expr(d.adbin, d.adrelid) as def
    from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = ${tableName}::regclass and a.attnum > 0 and not a.attisdropped
    order by a.attnum`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.column_name, r]));
}

describe('migrateServer', () => {
  it('creates each table with its columns, types, defaults, keys, indexes and triggers', async () => {
    await migrateServer(db, notesConfig('notes'));
    const columns = await columnsOf('notes');
    expect(Object.keys(columns)).toEqual([
      'id',
      'owner_id',
      'title',
      'body',
      'pinned',
      'tags',
      'due',
      'slug',
      'record_deleted',
      'last_synced_at',
      'column_sync_metadata',
      '_carburetor_xid',
      '_carburetor_exits',
    ]);
    expect(columns['owner_id']).toMatchObject({ type: 'text', not_null: true, def: null });
    expect(columns['body']).toMatchObject({ type: 'text', not_null: false });
    expect(columns['title']?.def).toBe(`'it''s \\ "new"'::text`);
    expect(columns['tags']?.def).toBe(`'{"list": ["a"]}'::jsonb`);
    expect(columns['due']).toMatchObject({ type: 'timestamp with time zone', def: 'now()' });
    expect(columns['slug']?.def).toContain('md5');
    expect(columns['record_deleted']).toMatchObject({
      type: 'boolean',
      not_null: true,
      def: 'false',
    });
    expect(columns['last_synced_at']).toMatchObject({ not_null: true, def: 'now()' });
    expect(columns['column_sync_metadata']).toMatchObject({
      type: 'jsonb',
      not_null: true,
      def: `'{}'::jsonb`,
    });
    expect(columns['_carburetor_xid']).toMatchObject({
      type: 'xid8',
      not_null: true,
      def: 'pg_current_xact_id()',
    });
    // Nullable without a default: added to a big table without rewriting it.
    expect(columns['_carburetor_exits']).toMatchObject({
      type: 'jsonb',
      not_null: false,
      def: null,
    });
    const { rows: indexes } = await sql<{ indexdef: string }>`
      select indexdef from pg_indexes where tablename = 'notes' order by indexname`.execute(db);
    expect(indexes.map((i) => i.indexdef.replace(/^.* USING btree /, '')).sort()).toEqual([
      '(_carburetor_xid, id)',
      '(id)',
      '(owner_id, _carburetor_xid, id)',
    ]);
    const { rows: triggers } = await sql<{ def: string }>`
      select pg_get_triggerdef(oid) as def from pg_trigger
      where tgrelid = 'notes'::regclass and not tgisinternal order by tgname`.execute(db);
    expect(triggers.map((t) => t.def.replace(/ ON \S+ /, ' ON notes '))).toEqual([
      `CREATE TRIGGER _carburetor_no_delete BEFORE DELETE ON notes FOR EACH ROW EXECUTE FUNCTION _carburetor_no_delete('record_deleted', 'id')`,
      'CREATE TRIGGER _carburetor_notify_insert AFTER INSERT ON notes REFERENCING NEW TABLE AS _carburetor_new FOR EACH STATEMENT EXECUTE FUNCTION _carburetor_notify_notes()',
      'CREATE TRIGGER _carburetor_notify_update AFTER UPDATE ON notes REFERENCING NEW TABLE AS _carburetor_new FOR EACH STATEMENT EXECUTE FUNCTION _carburetor_notify_notes()',
      'CREATE TRIGGER _carburetor_stamp BEFORE INSERT OR UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION _carburetor_stamp_notes()',
    ]);

    // Defaults apply to a plain insert; the value literal kept its quotes and backslash.
    await db.insertInto('notes').values({ id: 'n1', owner_id: 'u1' }).execute();
    const row = await db.selectFrom('notes').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ title: `it's \\ "new"`, pinned: false, tags: { list: ['a'] } });
    expect(row['slug']).toMatch(/^n-[0-9a-f]{32}$/);
  });

  it('is a no-op the second time, and two concurrent runs both succeed', async () => {
    const config = notesConfig('twice_notes');
    await Promise.all([migrateServer(db, config), migrateServer(db, config)]);
    const before = await catalogSnapshot();
    const again = await migrateServer(db, config);
    expect(again.statements.every((s) => s.startsWith('CREATE OR REPLACE FUNCTION'))).toBe(true);
    expect(await catalogSnapshot()).toEqual(before);
  });

  it('adds missing columns and indexes, relaxes NOT NULL, and leaves extra columns and other schemas alone', async () => {
    await sql`create schema other`.execute(db);
    await sql`create table other.grow_notes (id integer primary key, odd text not null)`.execute(
      db,
    );
    await sql`create table grow_notes (
      id text primary key, owner_id text not null, body text not null, extra text, extra2 int not null default 3)`.execute(
      db,
    );
    await sql`insert into grow_notes (id, owner_id, body) values ('old', 'u1', 'kept')`.execute(db);
    const result = await migrateServer(db, notesConfig('grow_notes'));
    expect(result.statements.some((s) => s.includes('DROP NOT NULL'))).toBe(true);
    const columns = await columnsOf('grow_notes');
    expect(columns['body']?.not_null).toBe(false);
    expect(columns['extra']).toBeDefined();
    expect(columns['extra2']).toMatchObject({ not_null: true, def: '3' });
    expect(columns['_carburetor_xid']?.not_null).toBe(true);
    const row = await db.selectFrom('grow_notes').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ id: 'old', body: 'kept', pinned: false, record_deleted: false });
    const other = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.columns
      where table_schema = 'other' and table_name = 'grow_notes'`.execute(db);
    expect(other.rows[0]?.n).toBe(2);
    // The trigger is on the grown table too.
    await expect(db.deleteFrom('grow_notes').execute()).rejects.toThrow(/Cannot DELETE/);
  });

  const refusals: Array<[string, string, string, Partial<MigrationError>]> = [
    [
      'a type mismatch',
      'create table bad_notes (id text primary key, owner_id integer not null)',
      'bad_notes',
      { code: 'type_mismatch', column: 'owner_id', expected: 'text', found: 'integer' },
    ],
    [
      'a primary-key mismatch',
      'create table bad_notes (id text, owner_id text not null, primary key (id, owner_id))',
      'bad_notes',
      { code: 'primary_key_mismatch', column: 'id', found: '(id, owner_id)' },
    ],
    [
      'a nullability tightening',
      'create table bad_notes (id text primary key, owner_id text)',
      'bad_notes',
      { code: 'nullability_mismatch', column: 'owner_id', expected: 'NOT NULL', found: 'nullable' },
    ],
    [
      'an undeclared NOT NULL column without default',
      'create table bad_notes (id text primary key, owner_id text not null, secret text not null)',
      'bad_notes',
      { code: 'undeclared_required_column', column: 'secret' },
    ],
    [
      'a missing NOT NULL column without default',
      'create table bad_notes (id text primary key)',
      'bad_notes',
      { code: 'missing_default', column: 'owner_id' },
    ],
  ];
  for (const [what, ddl, plural, expected] of refusals) {
    it(`refuses ${what} before any DDL runs`, async () => {
      await sql`drop table if exists bad_notes`.execute(db);
      await sql.raw(ddl).execute(db);
      const before = await catalogSnapshot();
      // The first table of the config is new and valid: it must not be created either.
      const config = defineSyncConfig({
        tables: {
          fine: table({ plural: 'fine_notes_never_created' }, { body: text() }),
          note: table({ plural }, { owner_id: text().immutable(), rank: integer().nullable() }),
        },
        syncGroups: {
          g: { fine: true, note: { restrictTo: { column: 'owner_id', context: 'userId' } } },
        },
      });
      const error = await migrateServer(db, config).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect(error).toMatchObject({ table: 'bad_notes', ...expected });
      expect((error as Error).message).toContain('"bad_notes"');
      expect(await catalogSnapshot()).toEqual(before);
    });
  }
});
