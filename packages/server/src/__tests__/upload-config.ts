import {
  bigint,
  boolean,
  bytea,
  date,
  defineSyncConfig,
  double,
  integer,
  jsonb,
  numeric,
  PROTOCOL_VERSION,
  table,
  text,
  timestamptz,
  type UploadColumn,
  type UploadRequest,
  type UploadRow,
  uuid,
  type WireRow,
  writeTimeFromMs,
} from '@carburetor/core';
import { z } from 'zod';

/** Test-only config: contacts owned by users, and a table with every column kind. */
export const uploadConfig = defineSyncConfig({
  tables: {
    contact: table({
      owner_id: text().immutable(),
      serial: text().immutable().default('none'),
      name: text().validate(z.string().min(1, 'a contact needs a name')),
      phone: text(),
      note: text().nullable(),
      published: boolean().default(false),
    }),
    sample: table({
      owner_id: text().immutable(),
      label: text(),
      small: integer().nullable(),
      big: bigint().nullable(),
      ratio: double().nullable(),
      amount: numeric().nullable(),
      day: date().nullable(),
      at: timestamptz().nullable(),
      doc: jsonb().nullable(),
      ref: uuid().nullable(),
      bytes: bytea().nullable(),
      flag: boolean().nullable(),
    }),
  },
  syncGroups: {
    mine: {
      contact: { restrictTo: { column: 'owner_id', context: 'userId' } },
      sample: { restrictTo: { column: 'owner_id', context: 'userId' } },
    },
    shared: {
      contact: {
        restrictTo: { column: 'owner_id', context: 'userId' },
        filter: { published: true },
      },
    },
    directory: {
      contact: { filter: { published: true }, readOnly: true },
    },
  },
});

/** Write times two minutes in the past, so they are never refused as from the future. */
const base = Date.now() - 120_000;
/** The write time `k` milliseconds after the tests' base time. */
export const at = (k: number, counter = 0) => writeTimeFromMs(base + k, counter);

/** Upload columns from values, all stamped with one write time. */
export function cols(t: number, values: Record<string, unknown>): Record<string, UploadColumn> {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, { value: value as never, t }]),
  );
}

/**
 * An upload request from one client, in this release's protocol unless
 * `protocol` says another (2 gets the whole resolved row back, 3 lean answers).
 */
export function request(
  clientId: string,
  tables: Record<string, UploadRow[]>,
  protocol: UploadRequest['protocol'] = PROTOCOL_VERSION,
): UploadRequest {
  return { protocol, clientId, tables };
}

/** A contact insert with every required column. */
export function contactInsert(
  id: string,
  owner: string,
  t: number,
  values: Record<string, unknown> = {},
): UploadRow {
  return {
    op: 'insert',
    id,
    columns: cols(t, {
      owner_id: owner,
      serial: 'none',
      name: 'Ada',
      phone: '555',
      note: null,
      published: false,
      is_deleted: false,
      ...values,
    }),
  };
}

/** A wire row as an object: the synced values by column, plus id, stamps and last-synced-at. */
export function rowObject(columns: readonly string[], row: WireRow) {
  const [id, lastSyncedAt, metadata, ...values] = row;
  const out: Record<string, unknown> = {};
  columns.forEach((name, i) => {
    out[name] = values[i];
  });
  return { id, lastSyncedAt, metadata, values: out };
}
