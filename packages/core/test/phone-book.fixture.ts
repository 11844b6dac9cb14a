import { z } from 'zod';
import { boolean, defineSyncConfig, jsonb, table, text, timestamptz } from '../src/index.ts';

/** The phone_book config of basic-feature.md, with a restricted and a shared group. */
export const phoneBookConfig = defineSyncConfig({
  tables: {
    phone_book: table(
      { plural: 'phone_books' },
      {
        id: text().id(),
        owner_id: text().immutable(),
        name: text().validate(z.string().min(1, 'a contact needs a name')),
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
