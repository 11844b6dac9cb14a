import type { AnyColumn, ColumnDefault, ColumnRole } from './column.ts';
import type { ColumnKind, ColumnTypeInfo } from './column-types.ts';
import type { TableNames } from './names.ts';

/** One column after resolution: its role, its type info, and its rules. */
export interface ResolvedColumn {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly type: ColumnTypeInfo;
  readonly role: ColumnRole;
  readonly nullable: boolean;
  readonly immutable: boolean;
  readonly default: ColumnDefault | undefined;
  readonly validator: AnyColumn['spec']['validator'];
}

/** A table after resolution, as server and client code read it. */
export interface ResolvedTable {
  readonly key: string;
  readonly plural: string;
  /** SQL table name (the plural). */
  readonly sqlName: string;
  readonly names: TableNames;
  /** Every column: data columns in declared order, then the special columns. */
  readonly columns: readonly ResolvedColumn[];
  readonly column: Readonly<Record<string, ResolvedColumn>>;
  readonly dataColumns: readonly ResolvedColumn[];
  /** Data columns plus the deleted flag: what merges by write time. */
  readonly syncedColumns: readonly string[];
  readonly id: string;
  readonly isDeleted: string;
  readonly lastSyncedAt: string;
  readonly columnSyncMetadata: string;
  readonly dirtyFlag: string;
}

/** A table's place in a group. */
export interface ResolvedGroupTable {
  readonly table: ResolvedTable;
  readonly restrictTo: { readonly column: string; readonly context: string } | undefined;
  readonly filter: Readonly<Record<string, unknown>> | undefined;
  readonly readOnly: boolean;
}

/** A sync group after resolution. */
export interface ResolvedGroup {
  readonly name: string;
  readonly tables: readonly ResolvedGroupTable[];
  readonly table: Readonly<Record<string, ResolvedGroupTable>>;
  /** Context names the group's restrictions need. */
  readonly contextKeys: readonly string[];
}
