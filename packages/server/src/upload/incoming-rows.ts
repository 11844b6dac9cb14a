import {
  type CheckedUploadRow,
  CLOCK_SKEW_TOLERANCE_MS,
  encodeWireValue,
  type JsonValue,
  msOfWriteTime,
  type ResolvedColumn,
  type ResolvedTable,
  type RowState,
} from '@carburetor/core';

/** PostgreSQL's clock at the start of an upload. */
export interface ServerClock {
  /** Milliseconds since the epoch. */
  ms: number;
  /** Canonical ISO text of the same instant (for `defaultNow()` columns). */
  iso: string;
}

type Checked = Extract<CheckedUploadRow, { ok: true }>;

/**
 * Why a row's write times are too far ahead of the server's clock, or
 * undefined. The whole row is refused: no write is applied with a time
 * other than the one its client stamped.
 */
export function clockSkew(
  table: ResolvedTable,
  checked: Checked,
  clock: ServerClock,
): string | undefined {
  let latest = -1;
  for (const t of Object.values(checked.times)) latest = Math.max(latest, t);
  const ahead = msOfWriteTime(latest) - clock.ms;
  if (ahead <= CLOCK_SKEW_TOLERANCE_MS) return undefined;
  return `${table.key} ${checked.id}: write time ${latest} is ${ahead} ms ahead of the server's clock (${clock.iso}), more than the ${CLOCK_SKEW_TOLERANCE_MS} ms allowed; correct the clock offset from the response's serverTime, stamp the writes again and resend them`;
}

// Values as the merge compares and stores them: timestamps in canonical form, uuids in lowercase.
function canonicalWire(column: ResolvedColumn, checked: Checked): JsonValue {
  if (column.kind === 'timestamptz' || column.kind === 'uuid') {
    return encodeWireValue(column, checked.values[column.name]);
  }
  return checked.wire[column.name]!;
}

function defaultWire(table: ResolvedTable, column: ResolvedColumn, clock: ServerClock): JsonValue {
  if (column.name === table.isDeleted) return false;
  const def = column.default;
  if (def?.kind === 'value') {
    return encodeWireValue(column, def.value);
  }
  if (def?.kind === 'now') return column.kind === 'date' ? clock.iso.slice(0, 10) : clock.iso;
  // checkUploadRow lets an insert leave out only defaulted or nullable columns.
  return null;
}

/**
 * An uploaded row as the merge sees it: each column it carries with its
 * value and (write time, client id). An insert is a whole row: a column it
 * leaves out takes its default, stamped with the insert's write time, as
 * the client's own insert would have.
 */
export function incomingRowState(
  table: ResolvedTable,
  checked: Checked,
  clientId: string,
  clock: ServerClock,
): RowState {
  const state: RowState = {};
  let rowTime = 0;
  for (const [name, t] of Object.entries(checked.times)) {
    state[name] = { value: canonicalWire(table.column[name]!, checked), stamp: { t, c: clientId } };
    rowTime = Math.max(rowTime, t);
  }
  if (checked.op === 'insert') {
    for (const name of table.syncedColumns) {
      if (name in state) continue;
      const column = table.column[name]!;
      state[name] = {
        value: defaultWire(table, column, clock),
        stamp: { t: rowTime, c: clientId },
      };
    }
  }
  return state;
}
