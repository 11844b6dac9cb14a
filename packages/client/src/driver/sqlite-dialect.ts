import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import {
  type SqliteDriver,
  SqliteDriverError,
  type SqliteExecutor,
  type SqliteValue,
} from './sqlite-driver.ts';

/**
 * A kysely dialect over any {@link SqliteDriver}. A kysely connection holds the
 * driver's `exclusive` lock from acquire to release, so a kysely transaction
 * owns the single SQLite connection from `BEGIN` to `COMMIT`: other kysely
 * queries, and direct driver calls, wait for it.
 *
 * @example
 * ```ts
 * const db = new Kysely<DB>({ dialect: new SqliteDriverDialect(driver) });
 * ```
 */
export class SqliteDriverDialect implements Dialect {
  readonly #driver: SqliteDriver;

  constructor(driver: SqliteDriver) {
    this.#driver = driver;
  }

  createDriver(): Driver {
    return new KyselySqliteDriver(this.#driver);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  // biome-ignore lint/suspicious/noExplicitAny: kysely's Dialect signature takes Kysely<any>.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/**
 * A typed kysely instance over a replica's driver.
 *
 * @example
 * ```ts
 * interface DB { notes: { id: number; body: string } }
 * const db = createReplicaKysely<DB>(memoryDriver());
 * const rows = await db.selectFrom('notes').selectAll().execute();
 * ```
 */
export function createReplicaKysely<DB>(driver: SqliteDriver): Kysely<DB> {
  return new Kysely<DB>({ dialect: new SqliteDriverDialect(driver) });
}

class KyselySqliteDriver implements Driver {
  readonly #driver: SqliteDriver;

  constructor(driver: SqliteDriver) {
    this.#driver = driver;
  }

  async init(): Promise<void> {
    await this.#driver.open();
  }

  acquireConnection(): Promise<DatabaseConnection> {
    return new Promise((resolve, reject) => {
      this.#driver
        .exclusive(
          (executor) =>
            new Promise<void>((release) => {
              resolve(new ExecutorConnection(executor, release));
            }),
        )
        .catch(reject);
    });
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await runRaw(connection, 'BEGIN');
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await runRaw(connection, 'COMMIT');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await runRaw(connection, 'ROLLBACK');
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await runRaw(connection, `SAVEPOINT ${quoteIdentifier(name)}`);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await runRaw(connection, `ROLLBACK TO ${quoteIdentifier(name)}`);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await runRaw(connection, `RELEASE ${quoteIdentifier(name)}`);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    if (connection instanceof ExecutorConnection) connection.release();
  }

  async destroy(): Promise<void> {
    await this.#driver.close();
  }
}

class ExecutorConnection implements DatabaseConnection {
  readonly #executor: SqliteExecutor;
  readonly release: () => void;

  constructor(executor: SqliteExecutor, release: () => void) {
    this.#executor = executor;
    this.release = release;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#executor.execute(
      compiledQuery.sql,
      compiledQuery.parameters as readonly SqliteValue[],
    );
    return {
      rows: result.rows as R[],
      numAffectedRows: BigInt(result.changes),
      ...(result.lastInsertRowid === undefined ? {} : { insertId: BigInt(result.lastInsertRowid) }),
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not supported; fail on first pull.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new SqliteDriverError(
      'unsupported',
      'Streaming queries are not supported by the Carburetor SQLite dialect: use execute() (results arrive in one batch).',
    );
  }
}

function runRaw(connection: DatabaseConnection, sql: string): Promise<QueryResult<unknown>> {
  return connection.executeQuery(CompiledQuery.raw(sql));
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
