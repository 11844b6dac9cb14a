import { boolean, defineSyncConfig, type InferRow, table, text } from '@carburetor/core';
import { z } from 'zod';

/**
 * The phone book's one sync config, shared by the server (migrations, the
 * sync router) and the browser (the replica, the hooks).
 *
 * Two groups over one table:
 * - `private_contacts`: every contact you own (restricted to your user id),
 *   read and write.
 * - `directory`: every contact its owner published, from everyone, read-only
 *   (you edit your own through `private_contacts`, where they are writable).
 */
export const config = defineSyncConfig({
  tables: {
    phone_book: table(
      { plural: 'phone_books' },
      {
        owner_id: text().immutable(),
        name: text().validate(z.string().trim().min(1, 'A contact needs a name.')),
        phone_number: text(),
        note: text().nullable(),
        published: boolean().default(false),
      },
    ),
  },
  syncGroups: {
    private_contacts: { phone_book: { restrictTo: { column: 'owner_id', context: 'userId' } } },
    directory: { phone_book: { filter: { published: true }, readOnly: true } },
  },
});

/** A contact as the replica holds it. */
export type Contact = InferRow<typeof config, 'phone_book'>;

/** The groups the browser syncs, in upload order: writes go through `private_contacts`. */
export const SYNC_GROUPS = ['private_contacts', 'directory'] as const;
