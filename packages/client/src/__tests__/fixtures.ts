import {
  bigint,
  boolean,
  bytea,
  date,
  defineSyncConfig,
  integer,
  jsonb,
  table,
  text,
  timestamptz,
} from '@carburetor/core';

export { phoneBookConfig } from '../../../core/test/phone-book.fixture.ts';

/** Every kind that needs decoding, plus a validator-free table for type tests. */
export const kindsConfig = defineSyncConfig({
  tables: {
    item: table({
      label: text(),
      done: boolean().default(false),
      count: integer().nullable(),
      views: bigint().default('0'),
      data: jsonb().$type<{ tags: string[] }>().nullable(),
      blob: bytea().nullable(),
      due: timestamptz().nullable(),
    }),
    secret: table({ body: text() }),
  },
  syncGroups: {
    items: { item: true },
    secrets: { secret: true },
  },
});

/**
 * Dates and times that an outside write can put beyond what core decodes
 * (BC, `infinity`), in a group of their own, then a second group.
 */
export const datedConfig = defineSyncConfig({
  tables: {
    event: table({ title: text(), day: date(), at: timestamptz() }),
    memo: table({ body: text() }),
  },
  syncGroups: {
    events: { event: true },
    memos: { memo: true },
  },
});

/** A URL nobody listens on: local tests never sync. */
export const NOWHERE = 'http://127.0.0.1:9/trpc';
