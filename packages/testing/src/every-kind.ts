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
  table,
  text,
  timestamptz,
  uuid,
} from '@carburetor/core';

/**
 * A config with one nullable column of every kind (`t`, `b`, `i`, `big`,
 * `d`, `n`, `day`, `at`, `doc`, `u`, `bytes`) in a table `sample` named
 * `plural`, synced by one group `all`: what the value-domain and wire-value
 * tests run every kind through.
 *
 * @example
 * const config = everyKindConfig('wire_samples');
 */
export function everyKindConfig<P extends string>(plural: P) {
  return defineSyncConfig({
    tables: {
      sample: table(
        { plural },
        {
          t: text().nullable(),
          b: boolean().nullable(),
          i: integer().nullable(),
          big: bigint().nullable(),
          d: double().nullable(),
          n: numeric().nullable(),
          day: date().nullable(),
          at: timestamptz().nullable(),
          doc: jsonb().nullable(),
          u: uuid().nullable(),
          bytes: bytea().nullable(),
        },
      ),
    },
    syncGroups: { all: { sample: true } },
  });
}
