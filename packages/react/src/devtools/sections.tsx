import type { SyncActivity, SyncStatus } from '@carburetor/client';
import type { ReactNode } from 'react';
import type { InspectedClient } from './inspected-client.ts';
import { styles } from './styles.ts';
import type { Inspection } from './use-inspection.ts';

/** A table of rows with a header; `empty` when there are none. */
function Grid({ head, rows, empty }: { head: string[]; rows: ReactNode[][]; empty: string }) {
  if (rows.length === 0) return <p style={styles.muted}>{empty}</p>;
  return (
    <table style={styles.table}>
      <thead>
        <tr>
          {head.map((h) => (
            <th key={h} style={styles.cell}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((cells, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity beyond their place
          <tr key={i}>
            {cells.map((cell, j) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: cells of a row
              <td key={j} style={styles.cell}>
                {cell}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const time = (iso: string | null) => (iso ? new Date(iso).toLocaleTimeString() : '—');

export function StatusSection({ status }: { status: SyncStatus }) {
  const rows = Object.entries(status).map(([key, value]) => [
    key,
    value === null ? 'null' : typeof value === 'object' ? JSON.stringify(value) : String(value),
  ]);
  return <Grid head={['status', 'value']} rows={rows} empty="" />;
}

export function PendingSection({ data }: { data: Inspection }) {
  return (
    <Grid
      head={['table', 'id', 'op', 'dirty columns (written at)']}
      empty="Nothing waits for upload."
      rows={data.pending.map((row) => [
        row.table,
        row.id,
        row.op,
        row.columns.map((c) => `${c.name} (${time(c.writtenAt)})`).join(', '),
      ])}
    />
  );
}

export function RejectedSection({ data, client }: { data: Inspection; client: InspectedClient }) {
  return (
    <Grid
      head={['table', 'id', 'code', 'message', '']}
      empty="No rejected or quarantined rows."
      rows={data.rejected.map((row) => [
        row.table,
        row.id,
        row.code,
        row.message,
        <button
          key="discard"
          type="button"
          style={styles.button}
          title="Drop this row's local changes; the next sync brings back the server's version"
          onClick={() => void client.discard(row.id).catch(console.error)}
        >
          Discard
        </button>,
      ])}
    />
  );
}

/** The last download of (group, table) that ended a pass: its page said no more follow. */
function lastPass(activity: readonly SyncActivity[], group: string, table: string): string | null {
  for (let i = activity.length - 1; i >= 0; i--) {
    const entry = activity[i]!;
    const page =
      entry.kind === 'download' && entry.group === group ? entry.tables[table] : undefined;
    if (page && !page.hasMore && entry.error === null) return entry.at;
  }
  return null;
}

export function CursorsSection({ data }: { data: Inspection }) {
  return (
    <Grid
      head={['group', 'table', 'state', 'last pass (this page)', 'cursor']}
      empty="No groups."
      rows={data.cursors.map((c) => [
        c.group,
        c.table,
        c.cursor === null ? 'first download' : c.resetting ? 'resetting' : 'synced',
        time(lastPass(data.activity, c.group, c.table)),
        <code key="cursor" style={styles.muted}>
          {c.cursor ?? '—'}
        </code>,
      ])}
    />
  );
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function ActivitySection({ data }: { data: Inspection }) {
  return (
    <Grid
      head={['at', 'kind', 'group', 'rows', 'bytes (sent / received)', 'ms', 'error']}
      empty="No sync request yet."
      rows={[...data.activity].reverse().map((a) => [
        time(a.at),
        a.kind,
        a.group,
        a.rows,
        a.bytes ? `${kib(a.bytes.sent)} / ${kib(a.bytes.received)}` : '—',
        a.durationMs,
        a.error ? (
          <span key="error" style={styles.error}>
            {a.error}
          </span>
        ) : (
          ''
        ),
      ])}
    />
  );
}
