import { CarburetorError } from '../errors.ts';
import type { ColumnKind, ColumnKindValues, JsonValue } from './column-types.ts';

/** What a column is for. `data` is an ordinary user column. */
export type ColumnRole =
  | 'data'
  | 'id'
  | 'lastSyncedAt'
  | 'isDeleted'
  | 'columnSyncMetadata'
  | 'dirtyFlag';

/** A column's default: a JS value, the current time, or a server-side SQL expression. */
export type ColumnDefault =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'now' }
  | { readonly kind: 'sql'; readonly sql: string };

/** The type-level state of a column builder: what `InferRow` and friends read. */
export interface ColumnBuilderState {
  kind: ColumnKind;
  data: unknown;
  nullable: boolean;
  hasDefault: boolean;
  immutable: boolean;
  role: ColumnRole;
}

type With<
  S extends ColumnBuilderState,
  K extends keyof ColumnBuilderState,
  V extends ColumnBuilderState[K],
> = {
  [P in keyof S]: P extends K ? V : S[P];
};

type InitialState<K extends ColumnKind, D = ColumnKindValues[K]> = {
  kind: K;
  data: D;
  nullable: false;
  hasDefault: false;
  immutable: false;
  role: 'data';
};

/**
 * A column validator: any Standard Schema (zod 4, valibot, arktype), used
 * synchronously.
 */
export interface ColumnValidator<T = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) =>
      | { readonly value: T; readonly issues?: undefined }
      | { readonly issues: readonly { readonly message: string }[] }
      | Promise<unknown>;
  };
}

/**
 * Runs a column validator: the first issue's message, or undefined when the
 * value passes.
 */
export function runValidator(validator: ColumnValidator, value: unknown): string | undefined {
  const result = validator['~standard'].validate(value);
  if (result instanceof Promise) {
    throw new CarburetorError(
      'config',
      'Column validators must be synchronous: local writes check them inside a transaction.',
    );
  }
  return result.issues ? (result.issues[0]?.message ?? 'failed its validator') : undefined;
}

/** Runtime description of a column, as the builder holds it. */
export interface ColumnSpec {
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly immutable: boolean;
  readonly role: ColumnRole;
  readonly default: ColumnDefault | undefined;
  readonly validator: ColumnValidator | undefined;
}

/**
 * An immutable column builder: every method returns a new, frozen column.
 * The type parameter carries what the column infers to.
 *
 * @example
 * ```ts
 * const note = text().nullable();
 * const ownerId = text().immutable();
 * const name = text().validate(z.string().min(1, 'a contact needs a name'));
 * ```
 */
export class Column<S extends ColumnBuilderState = ColumnBuilderState> {
  /** Type-level state; never set at run time. */
  declare readonly _: S;
  readonly spec: ColumnSpec;

  constructor(spec: ColumnSpec) {
    this.spec = Object.freeze({ ...spec });
    Object.freeze(this);
  }

  private with<T extends ColumnBuilderState>(patch: Partial<ColumnSpec>): Column<T> {
    return new Column<T>({ ...this.spec, ...patch });
  }

  /** The column accepts `null`. */
  nullable(): Column<With<S, 'nullable', true>> {
    return this.with({ nullable: true });
  }

  /** The value is set on insert and never changes (required for restriction columns). */
  immutable(): Column<With<S, 'immutable', true>> {
    return this.with({ immutable: true });
  }

  /** Default used when an insert leaves the column out (client and server DDL). */
  default(
    value: S['nullable'] extends true ? S['data'] | null : S['data'],
  ): Column<With<S, 'hasDefault', true>> {
    return this.with({ default: Object.freeze({ kind: 'value', value }) });
  }

  /** Default to the current time on insert (date and timestamptz columns). */
  defaultNow(
    this: Column<S & { kind: 'timestamptz' | 'date' }>,
  ): Column<With<S, 'hasDefault', true>> {
    return this.with({ default: Object.freeze({ kind: 'now' }) });
  }

  /**
   * A SQL expression used as the PostgreSQL DDL default, for rows inserted
   * outside Carburetor (plain SQL). Client inserts must still supply the
   * column, so the insert type does not change.
   */
  defaultSql(sql: string): Column<S> {
    return this.with({ default: Object.freeze({ kind: 'sql', sql }) });
  }

  /**
   * A schema every non-null value must pass (zod, or any Standard Schema),
   * checked at each local write and again by the server.
   */
  validate(schema: ColumnValidator<S['data']>): Column<S> {
    return this.with({ validator: schema });
  }

  /** Narrow a jsonb column's TypeScript type. */
  $type<T extends JsonValue>(this: Column<S & { kind: 'jsonb' }>): Column<With<S, 'data', T>> {
    return this.with({});
  }

  /** Marks the sync id column (text). Defaults to a column named `id`. */
  id(this: Column<S & { kind: 'text' }>): Column<With<S, 'role', 'id'>> {
    return this.with({ role: 'id' });
  }

  /** Marks the server-time column of the last change (timestamptz). Defaults to `last_synced_at`. */
  lastSyncedAt(this: Column<S & { kind: 'timestamptz' }>): Column<With<S, 'role', 'lastSyncedAt'>> {
    return this.with({ role: 'lastSyncedAt' });
  }

  /** Marks the soft-delete flag (boolean). Defaults to `is_deleted`. */
  isDeleted(this: Column<S & { kind: 'boolean' }>): Column<With<S, 'role', 'isDeleted'>> {
    return this.with({ role: 'isDeleted' });
  }

  /** Marks the per-column write-time metadata (jsonb). Defaults to `column_sync_metadata`. */
  columnSyncMetadata(
    this: Column<S & { kind: 'jsonb' }>,
  ): Column<With<S, 'role', 'columnSyncMetadata'>> {
    return this.with({ role: 'columnSyncMetadata' });
  }

  /** Marks the client-only dirty flag (text). Defaults to `dirty_flag`. */
  dirtyFlag(this: Column<S & { kind: 'text' }>): Column<With<S, 'role', 'dirtyFlag'>> {
    return this.with({ role: 'dirtyFlag' });
  }
}

/**
 * Any column, whatever it infers to. Structural on purpose: comparing against
 * the class would make TypeScript compare every builder method, per column.
 */
export interface AnyColumn {
  readonly _: ColumnBuilderState;
  readonly spec: ColumnSpec;
}

function column<K extends ColumnKind>(kind: K): Column<InitialState<K>> {
  return new Column({
    kind,
    nullable: false,
    immutable: false,
    role: 'data',
    default: undefined,
    validator: undefined,
  });
}

/** A `text` column (TypeScript `string`). @example `name: text()` */
export const text = () => column('text');
/** A `boolean` column. @example `published: boolean().default(false)` */
export const boolean = () => column('boolean');
/** A 32-bit `integer` column (TypeScript `number`). @example `age: integer().nullable()` */
export const integer = () => column('integer');
/** A 64-bit `bigint` column, as a decimal string so no digit is lost. @example `views: bigint().default('0')` */
export const bigint = () => column('bigint');
/** A `double precision` column (TypeScript `number`). @example `lat: double()` */
export const double = () => column('double');
/** An exact `numeric` column, as a decimal string. @example `price: numeric()` */
export const numeric = () => column('numeric');
/** A `date` column, as `YYYY-MM-DD`. @example `birthday: date().nullable()` */
export const date = () => column('date');
/** A `timestamptz` column, as canonical ISO text in UTC with microseconds. @example `createdAt: timestamptz().defaultNow()` */
export const timestamptz = () => column('timestamptz');
/** A `jsonb` column; narrow it with `$type<T>()`. @example `tags: jsonb().$type<string[]>()` */
export const jsonb = () => column('jsonb');
/** A `uuid` column, as lowercase text. @example `ref: uuid()` */
export const uuid = () => column('uuid');
/** A `bytea` column (TypeScript `Uint8Array`). @example `avatar: bytea().nullable()` */
export const bytea = () => column('bytea');
