import { boolean, defineSyncConfig, table, text } from '@carburetor/core';

/**
 * The one sync config: the server migrates and serves it, the browser
 * replicates it. Every generated name comes from it: `todo` / `todos` gives
 * `useActiveTodos`, `useInsertTodo`, `useUpdateTodo`, the SQL table `todos`.
 */
export const config = defineSyncConfig({
  tables: {
    todo: table(
      { plural: 'todos' },
      {
        owner_id: text().immutable(),
        title: text(),
        done: boolean().default(false),
        shared: boolean().default(false),
      },
    ),
  },
  syncGroups: {
    // each user's own todos, read and write
    mine: { todo: { restrictTo: { column: 'owner_id', context: 'userId' } } },
    // everyone's shared todos, read-only
    shared: { todo: { filter: { shared: true }, readOnly: true } },
  },
});

/** The groups the browser syncs, in upload order. */
export const SYNC_GROUPS = ['mine', 'shared'] as const;
