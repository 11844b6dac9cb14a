/** `phone_book` or `phoneBook` → `PhoneBook`. */
export type PascalCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Capitalize<Head>}${PascalCase<Tail>}`
  : Capitalize<S>;

/** The plural of a table key when none is given: the key plus `s`. */
export type DefaultPlural<K extends string> = `${K}s`;

/** Every name generated for one table, from its key and plural. */
export interface TableNames<K extends string = string, P extends string = string> {
  /** SQL table name (the plural). */
  sqlTable: P;
  insert: `insert${PascalCase<K>}`;
  /** The bulk insert: `insertPhoneBooks(rows)`. */
  insertMany: `insert${PascalCase<P>}`;
  update: `update${PascalCase<K>}`;
  delete: `delete${PascalCase<K>}`;
  active: `active${PascalCase<P>}`;
  useActive: `useActive${PascalCase<P>}`;
  useInsert: `useInsert${PascalCase<K>}`;
  useUpdate: `useUpdate${PascalCase<K>}`;
  useDelete: `useDelete${PascalCase<K>}`;
}

/** Runtime twin of {@link PascalCase}. */
export function pascalCase(name: string): string {
  return name
    .split('_')
    .filter((part) => part.length > 0)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The generated names of a table.
 *
 * @example
 * ```ts
 * tableNames('phone_book', 'phone_books').active; // 'activePhoneBooks'
 * ```
 */
export function tableNames<K extends string, P extends string>(
  key: K,
  plural: P,
): TableNames<K, P> {
  const one = pascalCase(key);
  const many = pascalCase(plural);
  return {
    sqlTable: plural,
    insert: `insert${one}`,
    insertMany: `insert${many}`,
    update: `update${one}`,
    delete: `delete${one}`,
    active: `active${many}`,
    useActive: `useActive${many}`,
    useInsert: `useInsert${one}`,
    useUpdate: `useUpdate${one}`,
    useDelete: `useDelete${one}`,
  } as TableNames<K, P>;
}

/**
 * The helper and hook names a table generates (`insertPhoneBook`,
 * `activePhoneBooks`, `useInsertPhoneBook`, ...), each once: no two tables
 * of a config may share one.
 *
 * @example
 * ```ts
 * generatedNames(tableNames('sheep', 'sheep')); // ['insertSheep', 'updateSheep', ...]
 * ```
 */
export function generatedNames(names: TableNames): string[] {
  const { sqlTable: _, ...helpers } = names;
  return [...new Set(Object.values(helpers))];
}
