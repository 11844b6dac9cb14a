import {
  bigint,
  boolean,
  bytea,
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

/** A URL nobody listens on: local tests never sync. */
export const NOWHERE = 'http://127.0.0.1:9/trpc';
