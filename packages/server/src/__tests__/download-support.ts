import {
  type AnySyncConfig,
  boolean,
  type DownloadResponse,
  defineSyncConfig,
  downloadRowsToWire,
  integer,
  PROTOCOL_VERSION,
  table,
  text,
} from '@carburetor/core';
import type { Kysely } from 'kysely';
import { type ContextValues, downloadChanges } from '../download/download.ts';

/** Test-only: a contacts table under its own SQL name, in a restricted, a filtered and an open group. */
export function contactsConfig(prefix: string) {
  return defineSyncConfig({
    tables: {
      contact: table(
        { plural: `${prefix}_contacts` },
        {
          owner_id: text().immutable(),
          name: text(),
          phone: text().nullable(),
          published: boolean().default(false),
          rank: integer().default(0),
        },
      ),
    },
    syncGroups: {
      mine: { contact: { restrictTo: { column: 'owner_id', context: 'userId' } } },
      directory: { contact: { filter: { published: true }, readOnly: true } },
      everything: { contact: true },
    },
  });
}

export type ContactsConfig = ReturnType<typeof contactsConfig>;

/** What a replica learns from downloading until caught up. */
export interface Downloaded {
  rows: Map<string, unknown[]>;
  /** Every row id received, in order, duplicates kept. */
  received: string[];
  tombstones: string[];
  outOfScope: string[];
  cursor: string | null;
  pages: DownloadResponse[];
}

/** Downloads one table of a group page by page until no page has more. */
export async function downloadAll(
  // biome-ignore lint/suspicious/noExplicitAny: any schema
  db: Kysely<any>,
  config: AnySyncConfig,
  group: string,
  context: ContextValues,
  start: { cursor: string | null; hasRows?: boolean } = { cursor: null },
  pageSize?: number,
): Promise<Downloaded> {
  const out: Downloaded = {
    rows: new Map(),
    received: [],
    tombstones: [],
    outOfScope: [],
    cursor: start.cursor,
    pages: [],
  };
  let hasRows = start.hasRows ?? false;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await downloadChanges(
      db,
      config,
      group,
      {
        protocol: PROTOCOL_VERSION,
        clientId: 'test-client',
        tables: { contact: { cursor: out.cursor, hasRows } },
        ...(pageSize ? { pageSize } : {}),
      },
      context,
    );
    out.pages.push(page);
    const part = page.tables['contact']!;
    for (const row of downloadRowsToWire(part)) {
      out.rows.set(row[0], row);
      out.received.push(row[0]);
    }
    out.tombstones.push(...part.tombstones);
    out.outOfScope.push(...part.outOfScope);
    out.cursor = part.cursor;
    hasRows ||= part.rows.length > 0;
    if (!page.hasMore) return out;
  }
  throw new Error('download did not finish');
}
