// The test config, without Node imports: the browser test page uses it too.
import { boolean, defineSyncConfig, jsonb, table, text, timestamptz } from '@carburetor/core';

/** A phone book with a restricted group and a shared read-only one, as in the demo. */
export const config = defineSyncConfig({
  tables: {
    phone_book: table(
      { plural: 'phone_books' },
      {
        id: text().id(),
        owner_id: text().immutable(),
        name: text(),
        phone_number: text(),
        note: text().nullable(),
        published: boolean().default(false),
        record_deleted: boolean().isDeleted(),
        sync_metadata: jsonb().columnSyncMetadata(),
        updated_at: timestamptz().lastSyncedAt(),
      },
    ),
    note: table({
      owner_id: text().immutable(),
      body: text(),
      tags: jsonb().$type<string[]>().default([]),
    }),
  },
  syncGroups: {
    private_contacts: {
      phone_book: { restrictTo: { column: 'owner_id', context: 'userId' } },
      note: { restrictTo: { column: 'owner_id', context: 'userId' } },
    },
    directory: {
      phone_book: { filter: { published: true }, readOnly: true },
    },
  },
});

/** The user every test client signs in as. */
export const ME = 'user-1';
