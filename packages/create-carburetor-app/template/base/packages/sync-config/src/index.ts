import { defineSyncConfig, table, text } from '@carburetor/core';

/**
 * The one sync config: the server migrates and serves it, the browser
 * replicates it. A config needs at least one table: rename and extend this
 * one (each table's SQL name is its plural).
 */
export const config = defineSyncConfig({
  tables: {
    item: table(
      { plural: 'items' },
      {
        owner_id: text().immutable(),
        name: text(),
      },
    ),
  },
  syncGroups: {
    // each user's own items, read and write
    mine: { item: { restrictTo: { column: 'owner_id', context: 'userId' } } },
  },
});

/** The groups the browser syncs, in upload order. */
export const SYNC_GROUPS = ['mine'] as const;
