/**
 * Writes a TypeScript file with a config of `tables` tables of `columns`
 * columns each, and uses every generated name and type of every table: the
 * worst case for the editor and `tsc`.
 */
export function largeConfigSource(tables: number, columns: number, coreImport: string): string {
  const kinds = [
    'text()',
    'integer()',
    'boolean()',
    'text().nullable()',
    'timestamptz()',
    'jsonb().$type<{ a: number }>()',
    'numeric()',
    'text().immutable()',
  ];
  const lines: string[] = [
    `import type { Kysely } from 'kysely';`,
    `import { defineSyncConfig, table, text, integer, boolean, timestamptz, jsonb, numeric } from '${coreImport}';`,
    `import type { ClientDatabase, InferInsert, InferNames, InferRow, InferUpdate, ServerDatabase, GroupContext, WritableTableKey } from '${coreImport}';`,
    '',
    'export const config = defineSyncConfig({',
    '  tables: {',
  ];
  for (let t = 0; t < tables; t++) {
    lines.push(`    table_${t}: table({`);
    lines.push('      owner_id: text().immutable(),');
    for (let c = 0; c < columns - 1; c++)
      lines.push(`      column_${c}: ${kinds[(t + c) % kinds.length]},`);
    lines.push('    }),');
  }
  lines.push('  },', '  syncGroups: {');
  for (let g = 0; g < 5; g++) {
    lines.push(`    group_${g}: {`);
    for (let t = g * 10; t < g * 10 + 10 && t < tables; t++) {
      lines.push(`      table_${t}: { restrictTo: { column: 'owner_id', context: 'userId' } },`);
    }
    lines.push('    },');
  }
  lines.push('  },', '});', '', 'type C = typeof config;');
  for (let t = 0; t < tables; t++) {
    lines.push(
      `export type Row${t} = InferRow<C, 'table_${t}'>;`,
      `export type Insert${t} = InferInsert<C, 'table_${t}'>;`,
      `export type Update${t} = InferUpdate<C, 'table_${t}'>;`,
      `export const names${t}: InferNames<C, 'table_${t}'>['insert'] | InferNames<C, 'table_${t}'>['useActive'] = 'insertTable${t}';`,
      `export const row${t} = {} as Row${t}; export const v${t}: string = row${t}.owner_id;`,
      `export const ins${t}: Insert${t} = { owner_id: 'u' } as Insert${t}; export const upd${t}: Update${t} = {};`,
    );
  }
  lines.push(
    'declare const server: Kysely<ServerDatabase<C>>;',
    'declare const client: Kysely<ClientDatabase<C>>;',
    `export const q1 = client.selectFrom('table_49s').selectAll().where('owner_id', '=', 'u');`,
    `export const q2 = server.selectFrom('table_0s').select(['id', 'column_0']);`,
    `export type Ctx = GroupContext<C, 'group_0'>; export type W = WritableTableKey<C, 'group_4'>;`,
  );
  return `${lines.join('\n')}\n`;
}
