import { z } from 'zod';
import type { JsonValue } from '../config/column-types.ts';
import { CONFIG_IDENTITY_PATTERN } from '../config/config-definition.ts';
import type { AnySyncConfig } from '../config/config-types.ts';
import type { ResolvedGroup } from '../config/resolved.ts';
import { CarburetorError } from '../errors.ts';
import { isReplicaClientId, isValidClientId } from '../rules/stamp.ts';
import {
  MAX_CURSOR_LENGTH,
  MAX_PAGE_SIZE,
  MAX_UPLOAD_ROWS,
  SUPPORTED_PROTOCOL_VERSIONS,
  SUPPORTED_PROTOCOL_VERSIONS_TEXT,
} from './limits.ts';
import type {
  DownloadRequest,
  DownloadResponse,
  DownloadRow,
  UploadRequest,
  UploadResponse,
  WireRow,
} from './messages.ts';

/** A replica's client id ({@link isReplicaClientId}): 1–64 lowercase letters, digits, '-' or '_', not 'server'. */
export const clientIdSchema = z
  .string()
  .refine(isValidClientId, 'a client id is 1-64 lowercase letters, digits, "-" or "_"')
  .refine(isReplicaClientId, '"server" is reserved for writes made outside Carburetor');

const rowIdSchema = z.string().min(1).max(255);
const writeTimeSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const protocolSchema = z.literal(SUPPORTED_PROTOCOL_VERSIONS, {
  error: (issue) =>
    `protocol version ${JSON.stringify(issue.input)?.slice(0, 20)} is not supported; this server speaks versions ${SUPPORTED_PROTOCOL_VERSIONS_TEXT}`,
});

/** A request's `config` (protocol 3): the identity of the client's config (`configIdentity`). */
export const configIdentitySchema = z
  .string()
  .regex(
    CONFIG_IDENTITY_PATTERN,
    'a config identity is 16 lowercase hex digits, as configIdentity(config) makes it',
  );

/** Input of `<group>.changes`: absent (protocol 1, pokes only) or `{ protocol }`. */
export const changesInputSchema = z
  .strictObject({ protocol: protocolSchema, config: configIdentitySchema.optional() })
  .optional();
/**
 * Deeper than this, a request is refused whole: no column takes such a value
 * (jsonb's own check refuses, row by row, past 64 levels), and code that
 * walks values recursively must never meet one.
 */
const MAX_JSON_DEPTH = 2_000;

/**
 * Whether a value is JSON (what JSON.parse can give: null, booleans, finite
 * numbers, strings, arrays, plain objects) no deeper than
 * {@link MAX_JSON_DEPTH}, checked without recursion.
 */
function isJsonData(value: unknown): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [next, depth] = pending.pop()!;
    if (next === null || typeof next === 'string' || typeof next === 'boolean') continue;
    if (typeof next === 'number') {
      if (!Number.isFinite(next)) return false;
      continue;
    }
    if (typeof next !== 'object' || depth >= MAX_JSON_DEPTH) return false;
    if (Array.isArray(next)) {
      for (const item of next) pending.push([item, depth + 1]);
      continue;
    }
    const proto = Object.getPrototypeOf(next);
    if (proto !== Object.prototype && proto !== null) return false;
    for (const item of Object.values(next)) pending.push([item, depth + 1]);
  }
  return true;
}

/**
 * A JSON value, passed on as it came: `z.json()` would rebuild objects by
 * assignment, and a `__proto__` key (valid JSON, kept by JSON.parse) would
 * set the copy's prototype instead of being kept.
 */
const jsonValue: z.ZodType<JsonValue> = z.custom<JsonValue>(
  isJsonData,
  `expected a JSON value at most ${MAX_JSON_DEPTH} levels deep`,
);
const wireStampSchema = z.object({ t: writeTimeSchema, c: z.string().min(1).max(64) });
const wireRowSchema = z
  .tuple([z.string(), z.string(), z.record(z.string(), wireStampSchema)])
  .rest(jsonValue) as unknown as z.ZodType<WireRow>;
const downloadRowSchema = z
  .tuple([z.string(), z.number().int().nullable()])
  .rest(jsonValue) as unknown as z.ZodType<DownloadRow>;

/** Zod schemas of one group's messages, built from the config. */
export interface GroupProtocol {
  group: ResolvedGroup;
  downloadRequest: z.ZodType<DownloadRequest>;
  downloadResponse: z.ZodType<DownloadResponse>;
  uploadRequest: z.ZodType<UploadRequest>;
  uploadResponse: z.ZodType<UploadResponse>;
}

/** Up to five names, each cut to 64 characters: a request may name thousands, or very long ones. */
function namesOf(keys: readonly string[]): string {
  const shown = keys
    .slice(0, 5)
    .map((k) => JSON.stringify(k.length > 64 ? `${k.slice(0, 63)}…` : k));
  return keys.length > 5 ? `${shown.join(', ')} and ${keys.length - 5} more` : shown.join(', ');
}

function tablesOf<T extends z.ZodType>(group: ResolvedGroup, schema: T) {
  const shape: Record<string, z.ZodOptional<T>> = {};
  for (const entry of group.tables) shape[entry.table.key] = schema.optional();
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `group "${group.name}" has no table ${namesOf(issue.keys)}; its tables are ${group.tables.map((t) => t.table.key).join(', ')}`
        : undefined,
  });
}

/**
 * The zod schemas of a group's download and upload messages. Structure
 * errors (not the protocol's shape, a table not in the group, the wrong
 * protocol version) fail here, whole; column values are checked per row by
 * {@link checkUploadRow}, so one bad row never sinks the others.
 *
 * @example
 * ```ts
 * const protocol = groupProtocol(config, 'private_contacts');
 * const request = protocol.uploadRequest.parse(body);
 * ```
 */
export function groupProtocol(config: AnySyncConfig, groupName: string): GroupProtocol {
  const group = (config.groups as Record<string, ResolvedGroup>)[groupName];
  if (!group) {
    throw new CarburetorError(
      'protocol',
      `Unknown sync group "${groupName}"; the groups are: ${Object.keys(config.groups).join(', ')}.`,
    );
  }
  const uploadRow = z.strictObject({
    op: z.enum(['insert', 'update']),
    id: rowIdSchema,
    columns: z.record(z.string(), z.strictObject({ value: jsonValue, t: writeTimeSchema })),
  });
  const uploadRequest = z
    .strictObject({
      protocol: protocolSchema,
      clientId: clientIdSchema,
      config: configIdentitySchema.optional(),
      tables: tablesOf(group, z.array(uploadRow)),
    })
    .refine(
      (request) =>
        Object.values(request.tables).reduce((n, rows) => n + (rows?.length ?? 0), 0) <=
        MAX_UPLOAD_ROWS,
      `an upload carries at most ${MAX_UPLOAD_ROWS} rows; split the queue`,
    );
  const downloadRequest = z
    .strictObject({
      protocol: protocolSchema,
      clientId: clientIdSchema,
      config: configIdentitySchema.optional(),
      tables: tablesOf(
        group,
        z.strictObject({
          cursor: z.string().max(MAX_CURSOR_LENGTH).nullable(),
          hasRows: z.boolean(),
          estimate: z.boolean().optional(),
        }),
      ),
      pageSize: z.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
      after: z
        .string()
        .regex(
          /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/,
          'a WAL position, as pg_lsn prints it (0/16B3748)',
        )
        .optional(),
    })
    .superRefine((request, ctx) => {
      // Versions 1 and 2 are answered exactly as before: their shape has no estimate.
      if (request.protocol >= 3) return;
      for (const [key, table] of Object.entries(request.tables)) {
        if (table?.estimate === undefined) continue;
        ctx.addIssue({
          code: 'custom',
          path: ['tables', key, 'estimate'],
          message: `"estimate" needs protocol version 3 or later; this request says ${request.protocol}`,
        });
      }
    });
  const downloadPage = z.object({
    columns: z.array(z.string()),
    clients: z.array(z.string()),
    rows: z.array(downloadRowSchema),
    tombstones: z.array(z.string()),
    outOfScope: z.array(z.string()),
    cursor: z.string(),
    hasMore: z.boolean(),
    reset: z.boolean(),
    authoritative: z.literal(true).optional(),
    catchUp: z.literal(true).optional(),
    remaining: z.object({ rows: z.number().int().nonnegative(), atLeast: z.boolean() }).optional(),
  });
  const serverColumn = z.object({
    value: jsonValue,
    t: writeTimeSchema,
    c: z.string().min(1).max(64),
  });
  const rowResult = z.union([
    z.object({ id: z.string(), ok: z.literal(true), row: wireRowSchema }),
    z.strictObject({
      id: z.string(),
      ok: z.literal(true),
      others: z.record(z.string(), serverColumn).optional(),
      syncedAt: z.string().optional(),
    }),
    z.object({
      id: z.string(),
      ok: z.literal(false),
      code: z.enum([
        'insufficient_permission',
        'record_not_found',
        'read_only',
        'invalid_value',
        'clock_skew',
      ]),
      message: z.string(),
    }),
  ]);
  return {
    group,
    downloadRequest: downloadRequest as unknown as z.ZodType<DownloadRequest>,
    downloadResponse: z.object({
      protocol: protocolSchema,
      serverTime: z.number(),
      tables: z.record(z.string(), downloadPage),
      hasMore: z.boolean(),
    }) as unknown as z.ZodType<DownloadResponse>,
    uploadRequest: uploadRequest as unknown as z.ZodType<UploadRequest>,
    uploadResponse: z.object({
      protocol: protocolSchema,
      serverTime: z.number(),
      tables: z.record(
        z.string(),
        z.object({
          columns: z.array(z.string()),
          results: z.array(rowResult),
          syncedAt: z.string().optional(),
        }),
      ),
    }) as unknown as z.ZodType<UploadResponse>,
  };
}
