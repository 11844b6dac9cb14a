import type {
  AnySyncConfig,
  ChangesEvent,
  ChangesInput,
  DownloadRequest,
  DownloadResponse,
  GroupName,
  UploadRequest,
  UploadResponse,
} from '@carburetor/core';
import { changesInputSchema, groupProtocol } from '@carburetor/core/schemas';
import {
  initTRPC,
  type TRPCBuiltRouter,
  type TRPCDefaultErrorShape,
  type TRPCMutationProcedure,
  type TRPCProcedureBuilder,
  type TRPCSubscriptionProcedure,
  type TRPCUnsetMarker,
} from '@trpc/server';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { clipText } from '../clip-text.ts';
import { type ContextValues, checkContext, downloadChanges } from '../download/download.ts';
import { createReadRoute, type ReadDatabases } from '../download/read-route.ts';
import { CarburetorServerError } from '../errors.ts';
import { ChangeAnnouncer } from '../realtime/change-announcer.ts';
import {
  ChangeHub,
  type ChangeHubOptions,
  type ChangePoke,
  createChangeHub,
  type SubscribeOptions,
} from '../realtime/change-hub.ts';
import { notifyThrough } from '../realtime/postgres-bus.ts';
import { NOTIFY_PAYLOAD_LIMIT } from '../schema/notify-trigger.ts';
import type { ChangeAnnouncement } from '../upload/announcement.ts';
import { uploadChanges } from '../upload/upload.ts';
import {
  clientError,
  logSyncError,
  type SyncErrorHandler,
  toClientError,
} from './client-errors.ts';
import { ConfigGate } from './config-gate.ts';

/** The procedures of one sync group. */
export type SyncGroupProcedures<TMeta, TErrorShape> = {
  /** One page of changes since the client's cursors. A mutation, so it goes by POST. */
  download: TRPCMutationProcedure<{
    input: DownloadRequest;
    output: DownloadResponse;
    meta: TMeta;
    errorShape: TErrorShape;
  }>;
  /** The client's dirty rows, merged; each row answered with its resolved state or an error code. */
  upload: TRPCMutationProcedure<{
    input: UploadRequest;
    output: UploadResponse;
    meta: TMeta;
    errorShape: TErrorShape;
  }>;
  /**
   * Realtime over SSE: a first event naming every table of the group (once
   * listening, so nothing committed since is missed), then one whenever
   * tables of the group change in the caller's scope, bursts merged. With
   * input `{ protocol: 2 }` the events carry the changed rows as pages (read
   * once per scope); a table named without a page is downloaded.
   */
  changes: TRPCSubscriptionProcedure<{
    input: ChangesInput | undefined;
    // biome-ignore lint/suspicious/noExplicitAny: tRPC's own shape for a generator's `next` argument
    output: AsyncIterable<ChangesEvent, void, any>;
    meta: TMeta;
    errorShape: TErrorShape;
  }>;
};

/**
 * The router `createSyncRouter` returns: `{ [group]: { download, upload } }`.
 *
 * @example
 * ```ts
 * const client = createTRPCClient<SyncRouter<typeof config>>({ links: [httpLink({ url })] });
 * await client.private_contacts.download.mutate(request);
 * ```
 */
export type SyncRouter<
  C extends AnySyncConfig,
  TContext extends object = object,
  TMeta extends object = object,
  TErrorShape = TRPCDefaultErrorShape,
> = TRPCBuiltRouter<
  { ctx: TContext; meta: TMeta; errorShape: TErrorShape; transformer: false },
  { [G in GroupName<C>]: SyncGroupProcedures<TMeta, TErrorShape> }
>;

/** The context a procedure's resolver sees: the base context with what middlewares added. */
type ResolvedContext<TContext, TOverrides> = Omit<TContext, keyof TOverrides> & TOverrides;

/**
 * A base procedure to build on: no input or output set yet. (`_TErrorShape`
 * keeps the signature stable: tRPC 11.19's builder does not carry it.)
 */
export type SyncBaseProcedure<TContext, TMeta, TOverrides, _TErrorShape> = TRPCProcedureBuilder<
  TContext,
  TMeta,
  TOverrides,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  false
>;

/** Options of {@link createSyncRouter}. */
export interface SyncRouterOptions<
  TContext extends object,
  TMeta extends object,
  TOverrides,
  TErrorShape,
> {
  /** The database, migrated with `migrateServer`: the primary, where uploads and the change hub go. */
  // biome-ignore lint/suspicious/noExplicitAny: works on any database schema
  db: Kysely<any>;
  /**
   * Where downloads are read, when not from `db`: streaming standbys of it
   * (one Kysely, a list taken in turn page by page, or a function choosing
   * one per page). A page that a standby cannot serve (down, or its read
   * cancelled by replay) is read from `db`. See docs/scaling.md.
   *
   * @example
   * ```ts
   * createSyncRouter(config, { db: createPgKysely({ connectionString: PRIMARY_URL }),
   *   readDb: [createPgKysely({ connectionString: STANDBY_A_URL }), createPgKysely({ connectionString: STANDBY_B_URL })] });
   * ```
   */
  readDb?: ReadDatabases;
  /**
   * Maps the tRPC context to the values the groups' restrictions read, e.g.
   * `(ctx) => ({ userId: ctx.user.id })`. A restricted group whose values are
   * missing answers UNAUTHORIZED. Not needed when no group is restricted.
   */
  context?: (
    ctx: ResolvedContext<TContext, TOverrides>,
  ) =>
    | Readonly<Record<string, string | number | null | undefined>>
    | Promise<Readonly<Record<string, string | number | null | undefined>>>;
  /**
   * The app's own base procedure (with its auth middleware); the sync
   * procedures are built on it. Default: a plain procedure.
   */
  procedure?: SyncBaseProcedure<TContext, TMeta, TOverrides, TErrorShape>;
  /**
   * Where `<group>.changes` hears of changes: a {@link ChangeHub} the app
   * shares between routers (one LISTEN connection per process), or options
   * for the hub this router creates from `db` on its first subscriber
   * (`listen: { connectionString }` when `db` was not made by
   * `createPgKysely` / `createPgliteKysely`).
   */
  changes?: ChangeHub | Omit<ChangeHubOptions, 'db'>;
  /**
   * Where errors the router did not expect go (a database that is down or
   * was never migrated, a bug). The client gets only a short message with
   * the report's `id`; the report has the error itself. Default: logged
   * with `console.error`.
   *
   * @example
   * ```ts
   * onError: ({ id, path, error }) => logger.error({ id, path, err: error }, 'sync failed'),
   * ```
   */
  onError?: SyncErrorHandler;
}

/**
 * The tRPC router of a sync config: for each group, `download` and `upload`,
 * both mutations (they go by POST: cursors do not belong in URLs), with
 * inputs checked against the protocol (a malformed request is a
 * BAD_REQUEST that writes nothing), and `changes`, a subscription over SSE
 * that pokes the caller when the group's tables change in its scope (any
 * writer, any server instance: PostgreSQL NOTIFY). Apart from the realtime
 * hub's one LISTEN connection the router keeps no state, so any number of
 * instances may serve one database.
 *
 * @example
 * ```ts
 * // app/api/sync/[trpc]/route.ts (Next.js App Router)
 * import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
 * import { createSyncRouter } from '@carburetor/server';
 *
 * const router = createSyncRouter(config, {
 *   db,
 *   procedure: authedProcedure, // your procedure that puts the user on the context
 *   context: (ctx) => ({ userId: ctx.user.id }),
 * });
 * const handler = (req: Request) =>
 *   fetchRequestHandler({ endpoint: '/api/sync', req, router, createContext: () => createAppContext(req) });
 * // GET carries the `changes` subscriptions (SSE), POST the rest.
 * export { handler as GET, handler as POST };
 *
 * // client: httpSubscriptionLink for subscriptions, httpBatchLink for the rest
 * const client = createTRPCClient<typeof router>({
 *   links: [
 *     splitLink({
 *       condition: (op) => op.type === 'subscription',
 *       true: httpSubscriptionLink({ url: '/api/sync' }),
 *       false: httpBatchLink({ url: '/api/sync' }),
 *     }),
 *   ],
 * });
 * client.private_contacts.changes.subscribe(undefined, { onData: ({ tables }) => sync(tables) });
 * ```
 */
export function createSyncRouter<
  C extends AnySyncConfig,
  TContext extends object = object,
  TMeta extends object = object,
  TOverrides = object,
  TErrorShape = TRPCDefaultErrorShape,
>(
  config: C,
  options: SyncRouterOptions<TContext, TMeta, TOverrides, TErrorShape>,
): SyncRouter<C, TContext, TMeta, TErrorShape> {
  // No stack in error answers, whatever NODE_ENV (tRPC's default sends it outside production).
  const t = initTRPC.context<TContext>().meta<TMeta>().create({ isDev: false });
  const onError = options.onError ?? logSyncError;
  // biome-ignore lint/suspicious/noExplicitAny: the app's procedure, whatever its types
  const base = (options.procedure ?? t.procedure) as any as typeof t.procedure;
  const { db } = options;
  const readFrom = createReadRoute(db, options.readDb);
  const given = options.changes;
  let hub: ChangeHub | undefined = given instanceof ChangeHub ? given : undefined;
  const hubOf = (): ChangeHub => {
    hub ??= createChangeHub(config, { ...(given as Omit<ChangeHubOptions, 'db'>), db });
    return hub;
  };
  let announcer: ChangeAnnouncement | undefined;
  const announcerOf = (): ChangeAnnouncement => {
    if (announcer) return announcer;
    try {
      announcer = hubOf();
    } catch (error) {
      if (!(error instanceof CarburetorServerError && error.code === 'no_listen_source'))
        throw error;
      // Nowhere to LISTEN (this router's subscriptions say so), but its uploads still reach
      // the subscribers of other instances.
      announcer = new ChangeAnnouncer({
        windowMs: (given as ChangeHubOptions | undefined)?.coalesceMs ?? 50,
        publish: notifyThrough(db),
        maxMessageBytes: NOTIFY_PAYLOAD_LIMIT,
        report: (e) => console.warn(`Carburetor: announcing an upload failed. ${String(e)}`),
      });
    }
    return announcer;
  };
  const gate = new ConfigGate(db, config);
  /**
   * The request and the config it came from. The config is decided first:
   * a newer client's request may name tables or columns this server does
   * not know yet, and must be told to retry, not that it is malformed.
   */
  const admit = async <T>(input: unknown, path: string) => {
    const parsed = input as ParsedInput<T>;
    if (!parsed.ok && parsed.config === undefined) validRequest(input, path);
    const client = await gate.configOf(parsed.config);
    return { request: validRequest<T>(input, path), client };
  };
  const record: Record<string, unknown> = {};
  for (const groupName of Object.keys(config.groups)) {
    const protocol = groupProtocol(config, groupName);
    const group = protocol.group;
    const contextOf = async (ctx: unknown): Promise<ContextValues> => {
      if (group.contextKeys.length === 0) return {};
      const given = options.context
        ? await options.context(ctx as ResolvedContext<TContext, TOverrides>)
        : {};
      const values: Record<string, string | number> = {};
      for (const [key, value] of Object.entries(given ?? {})) {
        if (typeof value === 'string' || typeof value === 'number') values[key] = value;
      }
      checkContext(group, values);
      return values;
    };
    const path = (procedure: string) => `${groupName}.${procedure}`;
    record[groupName] = t.router({
      download: base.input(safeParserOf(protocol.downloadRequest)).mutation(({ ctx, input }) =>
        answer(path('download'), onError, async () => {
          const { request, client } = await admit<DownloadRequest>(input, path('download'));
          const values = await contextOf(ctx);
          // A standby behind the client's cursor declines, and the primary answers.
          return readFrom(
            (reader, options) =>
              downloadChanges(reader, config, groupName, request, values, { ...options, client }),
            request.after,
          );
        }),
      ),
      upload: base.input(safeParserOf(protocol.uploadRequest)).mutation(({ ctx, input }) =>
        answer(path('upload'), onError, async () => {
          // An older client's rows carry the columns it knows; the others keep their values
          // (an insert gets their defaults), and their stamps stay as they are.
          const { request } = await admit<UploadRequest>(input, path('upload'));
          return uploadChanges(db, config, groupName, request, await contextOf(ctx), {
            changes: announcerOf(),
          });
        }),
      ),
      changes: base.input(safeParserOf(changesInputSchema)).subscription(async function* ({
        ctx,
        input,
        signal,
      }) {
        const { request, client } = await answer(path('changes'), onError, () =>
          admit<ChangesInput | undefined>(input, path('changes')),
        );
        const values = await answer(path('changes'), onError, () => contextOf(ctx));
        // Protocol 1 events are pokes only.
        const v2 = (request?.protocol ?? 1) >= 2;
        yield* pokesOf(
          await answer(path('changes'), onError, async () => hubOf()),
          groupName,
          values,
          group.tables.map((t) => t.table.key),
          {
            // Pushed pages carry the server's columns and cursors: only for clients of its config.
            pushes: v2 && client.identity === gate.identity,
            // A standby serves the poked download once it has replayed the change.
            lsn: v2 && options.readDb !== undefined,
          },
          signal,
        );
      }),
    });
  }
  // biome-ignore lint/suspicious/noExplicitAny: the record's type is SyncRouter's by construction
  return t.router(record as any) as unknown as SyncRouter<C, TContext, TMeta, TErrorShape>;
}

/**
 * The events of one subscription: a first one with every table once the
 * hub listens, then the hub's, in order. Pokes without pages are merged
 * while the client has not taken them; pushed pages are sent as they came
 * (each continues the one before). Ends when the request's signal aborts,
 * freeing its place in the hub.
 */
async function* pokesOf(
  hub: ChangeHub,
  group: string,
  values: ContextValues,
  allTables: readonly string[],
  options: SubscribeOptions,
  signal: AbortSignal | undefined,
): AsyncGenerator<ChangesEvent, void> {
  const queue: ChangesEvent[] = [];
  let wake: (() => void) | undefined;
  const enqueue = (poke: ChangePoke) => {
    const last = queue.at(-1);
    if (last && !last.pages && !poke.pages) {
      last.tables = [...new Set([...last.tables, ...poke.tables])];
      // The later position covers both changes.
      if (poke.lsn !== undefined) last.lsn = poke.lsn;
    } else {
      queue.push({
        tables: [...poke.tables],
        ...(poke.pages ? { pages: { ...poke.pages } } : {}),
        ...(poke.serverTime === undefined ? {} : { serverTime: poke.serverTime }),
        ...(poke.lsn === undefined ? {} : { lsn: poke.lsn }),
      });
    }
    wake?.();
  };
  let listening = false;
  const unsubscribe = hub.subscribe(
    group,
    values,
    (poke) => {
      if (listening) enqueue(poke);
    },
    options,
  );
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await hub.ready(signal);
    // Whatever was committed before the hub listened is caught by this first download.
    listening = true;
    queue.length = 0;
    queue.push({ tables: [...allTables] });
    while (!signal?.aborted) {
      const next = queue.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      yield next;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    unsubscribe();
  }
}

/** What the input step hands the resolver: the request, or why it is not one. */
type ParsedInput<T> = (
  | { readonly ok: true; readonly data: T }
  | { readonly ok: false; readonly why: string }
) & {
  /** The request's `config` as it came (protocol 3), whether or not the rest is valid. */
  readonly config?: unknown;
};

/**
 * An input parser that never throws: tRPC would wrap a thrown error in one of
 * its own, stack included, so the resolver refuses the request itself.
 */
function safeParserOf<T>(schema: z.ZodType<T>) {
  return (raw: unknown): ParsedInput<T> => {
    const config = (raw as { config?: unknown } | null | undefined)?.config;
    const withConfig = typeof config === 'string' ? { config } : {};
    let result: ReturnType<typeof schema.safeParse>;
    try {
      result = schema.safeParse(raw);
    } catch {
      // Zod recurses into JSON values: a value nested thousands deep overflows the stack.
      return { ok: false, why: 'request: nested too deeply', ...withConfig };
    }
    if (result.success) return { ok: true, data: result.data, ...withConfig };
    const issues = result.error.issues.slice(0, 5).map((issue) => {
      const where = issue.path.length > 0 ? issue.path.slice(0, 8).join('.') : 'request';
      return `${clipText(where, 120)}: ${clipText(issue.message, 200)}`;
    });
    const more = result.error.issues.length > 5 ? ` (${result.error.issues.length - 5} more)` : '';
    return { ok: false, why: `${issues.join('; ')}${more}`, ...withConfig };
  };
}

/** The request, or a BAD_REQUEST that lists what is wrong with it, by path. */
function validRequest<T>(input: unknown, path: string): T {
  const parsed = input as ParsedInput<T>;
  if (parsed.ok) return parsed.data;
  throw clientError('BAD_REQUEST', `Invalid ${path} request: ${parsed.why}.`);
}

/** Runs a procedure's work; whatever it throws becomes the error the client should see. */
async function answer<T>(
  path: string,
  onError: SyncErrorHandler,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toClientError(error, path, onError);
  }
}
