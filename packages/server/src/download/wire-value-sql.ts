import type { ResolvedColumn } from '@carburetor/core';
import { type RawBuilder, sql } from 'kysely';

/**
 * A column's value in its canonical wire form, computed by PostgreSQL so the
 * driver's value needs no further work: int8 and numeric become text to keep
 * every digit, timestamptz the UTC ISO form with six fractional digits, date
 * ISO whatever DateStyle says, bytea base64 without line breaks.
 *
 * It is the SQL twin of core's `wireValueOfPg` and `encodeWireValue`
 * (core/src/protocol/value-codec.ts), which an upload answer's values go
 * through; `__tests__/wire-value.property.test.ts` checks they agree for
 * random values of every kind. A double's NaN or infinity is left to the
 * page's JavaScript (core's `nonFiniteAsText`).
 *
 * A value outside what Carburetor keeps (a BC or infinite date or time that
 * an outside write stored) goes as PostgreSQL's own text, `44-03-15 BC` or
 * `infinity`: the replica's value check refuses it and quarantines the row,
 * where `to_char` would have sent a wrong date (it drops the era) or null.
 */
export function wireValueSql(column: ResolvedColumn): RawBuilder<unknown> {
  const ref = sql.ref(column.name);
  switch (column.kind) {
    case 'bigint':
    case 'numeric':
      return sql`${ref}::text`;
    case 'timestamptz':
      return sql`case when ${ref} >= ${sql.lit(FIRST_TIME)}::timestamptz and ${ref} < ${sql.lit(PAST_LAST_TIME)}::timestamptz then ${timestampSql(column.name)} else ${ref}::text end`;
    case 'date':
      return sql`case when ${ref} between date ${sql.lit(FIRST_DAY)} and date ${sql.lit(LAST_DAY)} then to_char(${ref}, 'YYYY-MM-DD') else ${ref}::text end`;
    case 'bytea':
      return sql`translate(encode(${ref}, 'base64'), chr(10), '')`;
    default:
      return sql`${ref}`;
  }
}

// The years 0001-9999 (in UTC), as core's value checks keep them.
const FIRST_DAY = '0001-01-01';
const LAST_DAY = '9999-12-31';
const FIRST_TIME = '0001-01-01 00:00:00+00';
const PAST_LAST_TIME = '10000-01-01 00:00:00+00';

/** A timestamptz column as canonical text: `2026-11-25T15:41:05.123456Z`. */
function timestampSql(name: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(name)} at time zone 'UTC', ${sql.raw(`'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`)})`;
}
