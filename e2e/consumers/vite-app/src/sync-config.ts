import { boolean, defineSyncConfig, table, text } from '@carburetor/core';

export const config = defineSyncConfig({
  tables: {
    todo: table(
      { plural: 'todos' },
      {
        owner_id: text().immutable(),
        title: text(),
        done: boolean().default(false),
      },
    ),
  },
  syncGroups: {
    // each user's own todos, read and write
    mine: { todo: { restrictTo: { column: 'owner_id', context: 'userId' } } },
  },
});
