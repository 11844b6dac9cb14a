/**
 * Text-format parsers that keep every value exact, shared by the pg and PGlite
 * drivers so both return the same JavaScript values for the same rows:
 * int8 and numeric stay strings (no float rounding), date/time types stay the
 * server's text (no `Date`, which drops microseconds and shifts dates by the
 * local zone), json/jsonb are parsed, bytea becomes bytes.
 */

/** Turns one value in PostgreSQL's text output format into a JavaScript value. */
export type TextParser = (text: string) => unknown;

const asText: TextParser = (text) => text;
const asNumber: TextParser = (text) => Number(text);
const asBoolean: TextParser = (text) => text === 't';
const asJson: TextParser = (text) => JSON.parse(text);

/** PostgreSQL type oids (pg_type.oid) of the types given exact parsers. */
export const PG_OIDS = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/**
 * Decodes bytea text output: hex (`\x0a0b`, the default since PostgreSQL 9.0)
 * or the legacy escape format (`bytea_output = escape`).
 */
export function parseBytea(text: string): Uint8Array {
  if (text.startsWith('\\x')) {
    const hex = text.slice(2);
    if (typeof Buffer !== 'undefined') return Buffer.from(hex, 'hex');
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++)
      bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return bytes;
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      bytes.push(text.charCodeAt(i));
    } else if (text[i + 1] === '\\') {
      bytes.push(92);
      i++;
    } else {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    }
  }
  return Uint8Array.from(bytes);
}

/**
 * Parses PostgreSQL's text form of an array (`{1,NULL,"a \"b\""}`, nested
 * `{{1,2},{3,4}}`, optionally prefixed by bounds `[0:1]={...}`), applying
 * `element` to every non-null element.
 *
 * @example
 * parsePgArray('{1,NULL,3}', Number); // [1, null, 3]
 */
export function parsePgArray(text: string, element: TextParser): unknown[] {
  let i = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  const fail = (): never => {
    throw new Error(`Malformed PostgreSQL array literal at offset ${i}: ${text.slice(0, 80)}`);
  };
  const level = (): unknown[] => {
    if (text[i] !== '{') fail();
    i++;
    const out: unknown[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(level());
      } else if (text[i] === '"') {
        i++;
        let value = '';
        let start = i;
        while (text[i] !== '"') {
          if (i >= text.length) fail();
          if (text[i] === '\\') {
            value += text.slice(start, i);
            i++;
            start = i;
          }
          i++;
        }
        value += text.slice(start, i);
        i++;
        out.push(element(value));
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== '}') i++;
        const raw = text.slice(start, i);
        out.push(raw === 'NULL' ? null : element(raw));
      }
      if (text[i] === ',') {
        i++;
      } else if (text[i] === '}') {
        i++;
        return out;
      } else {
        fail();
      }
    }
  };
  return level();
}

const scalarParsers: Record<number, TextParser> = {
  [PG_OIDS.bool]: asBoolean,
  [PG_OIDS.bytea]: parseBytea,
  [PG_OIDS.int8]: asText,
  [PG_OIDS.int2]: asNumber,
  [PG_OIDS.int4]: asNumber,
  [PG_OIDS.text]: asText,
  [PG_OIDS.oid]: asNumber,
  [PG_OIDS.json]: asJson,
  [PG_OIDS.float4]: asNumber,
  [PG_OIDS.float8]: asNumber,
  [PG_OIDS.bpchar]: asText,
  [PG_OIDS.varchar]: asText,
  [PG_OIDS.date]: asText,
  [PG_OIDS.time]: asText,
  [PG_OIDS.timestamp]: asText,
  [PG_OIDS.timestamptz]: asText,
  [PG_OIDS.interval]: asText,
  [PG_OIDS.timetz]: asText,
  [PG_OIDS.numeric]: asText,
  [PG_OIDS.uuid]: asText,
  [PG_OIDS.jsonb]: asJson,
};

/** Array type oid → element type oid, for the element types above. */
const arrayElementOids: Record<number, number> = {
  1000: PG_OIDS.bool,
  1001: PG_OIDS.bytea,
  1016: PG_OIDS.int8,
  1005: PG_OIDS.int2,
  1007: PG_OIDS.int4,
  1009: PG_OIDS.text,
  1028: PG_OIDS.oid,
  199: PG_OIDS.json,
  1021: PG_OIDS.float4,
  1022: PG_OIDS.float8,
  1014: PG_OIDS.bpchar,
  1015: PG_OIDS.varchar,
  1182: PG_OIDS.date,
  1183: PG_OIDS.time,
  1115: PG_OIDS.timestamp,
  1185: PG_OIDS.timestamptz,
  1187: PG_OIDS.interval,
  1270: PG_OIDS.timetz,
  1231: PG_OIDS.numeric,
  2951: PG_OIDS.uuid,
  3807: PG_OIDS.jsonb,
};

/**
 * Every exact parser by type oid, scalars and their arrays. Types not listed
 * are left to the driver's own defaults.
 *
 * @example
 * exactTextParsers[20]?.('9007199254740993'); // '9007199254740993'
 */
export const exactTextParsers: Readonly<Record<number, TextParser>> = Object.freeze({
  ...scalarParsers,
  ...Object.fromEntries(
    Object.entries(arrayElementOids).map(([arrayOid, elementOid]) => {
      const element = scalarParsers[elementOid] ?? asText;
      return [Number(arrayOid), (text: string) => parsePgArray(text, element)];
    }),
  ),
});
