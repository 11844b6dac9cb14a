/**
 * The one message every change bus carries (PostgreSQL NOTIFY, Redis
 * pub/sub), from the notify triggers (outside writes) and from the upload
 * path (after commit): which SQL tables changed, and in whose scope.
 *
 * ```json
 * {"v": 1, "changes": [{"t": "contacts", "r": {"owner_id": ["u1"]}, "s": {"<filter key>:owner_id": "*"}}]}
 * ```
 *
 * Versioned and additive: a reader takes the fields it knows and ignores
 * the rest, so a later version may add fields (a commit LSN, pushed rows)
 * that older readers skip. A message a reader cannot make sense of pokes
 * everyone: a spurious poke costs a download, a missed one a stale replica.
 */

/** The version this server writes. */
export const CHANGE_MESSAGE_VERSION = 1;

/** Above this many distinct values of one scope key, a change says "many" (`"*"`). */
export const CHANGE_VALUE_LIMIT = 100;

/** What changed in one SQL table. */
export interface TableChange {
  /** SQL table name. */
  readonly t: string;
  /** Restriction column → the values of the written rows (as PostgreSQL prints them), or '*' for many. */
  readonly r?: Readonly<Record<string, readonly string[] | '*'>>;
  /**
   * Filtered scope (`<filter key>:<restriction column or ''>`) → the
   * restriction values of the rows in the filter or leaving it, '*' for
   * many, or (unrestricted) whether there was any.
   */
  readonly s?: Readonly<Record<string, readonly string[] | '*' | boolean>>;
}

/** A message on the bus. */
export interface ChangeMessage {
  readonly v: number;
  /**
   * The hub that sent it, which delivered the changes to its own
   * subscribers already and skips the message when the bus brings it back.
   */
  readonly o?: string;
  readonly changes: readonly TableChange[];
}

/** What a reader makes of a message: the changes, or "assume everything changed". */
export type ReadChanges = readonly TableChange[] | 'everything';

/**
 * The message text for these changes. With `maxBytes` (PostgreSQL refuses a
 * NOTIFY payload of 8,000 bytes), value lists give way to '*' until it fits.
 * `origin`: the sending hub's id (see {@link ChangeMessage.o}).
 */
export function encodeChangeMessage(
  changes: readonly TableChange[],
  maxBytes?: number,
  origin?: string,
): string {
  const head =
    origin === undefined ? { v: CHANGE_MESSAGE_VERSION } : { v: CHANGE_MESSAGE_VERSION, o: origin };
  const text = JSON.stringify({ ...head, changes } satisfies ChangeMessage);
  if (maxBytes === undefined || Buffer.byteLength(text) <= maxBytes) return text;
  return JSON.stringify({ ...head, changes: changes.map(withoutValues) } satisfies ChangeMessage);
}

/** The hub that sent a message ({@link ChangeMessage.o}), if it says. */
export function changeMessageOrigin(text: string): string | undefined {
  // Cheap: the origin is the second field the encoder writes; anything else has none.
  const match = /^\{"v":\d+,"o":"([^"\\]{1,64})"/.exec(text);
  return match?.[1];
}

/** Reads a message; anything it cannot read means "everything". */
export function decodeChangeMessage(text: string): ReadChanges {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'everything';
  }
  if (!isObject(parsed)) return 'everything';
  // A payload of a trigger an older migration made: one bare table change.
  const list = typeof parsed['t'] === 'string' ? [parsed] : parsed['changes'];
  if (!Array.isArray(list) || !list.every((c) => isObject(c) && typeof c['t'] === 'string')) {
    return 'everything';
  }
  return list as TableChange[];
}

/**
 * Folds `change` into `into` (by table): value lists are united, '*' wins
 * over a list, `true` over `false`. Used to send one message per window.
 */
export function mergeTableChange(into: Map<string, TableChange>, change: TableChange): void {
  const before = into.get(change.t);
  if (!before) {
    into.set(change.t, change);
    return;
  }
  into.set(change.t, {
    t: change.t,
    r: mergeScopes(before.r, change.r) as TableChange['r'],
    s: mergeScopes(before.s, change.s),
  });
}

type ScopeValues = readonly string[] | '*' | boolean;

function mergeScopes(
  a: Readonly<Record<string, ScopeValues>> | undefined,
  b: Readonly<Record<string, ScopeValues>> | undefined,
): Record<string, ScopeValues> | undefined {
  if (!a || !b) return undefined; // a change without the map concerns every scope
  const merged: Record<string, ScopeValues> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const other = merged[key];
    merged[key] = other === undefined ? value : mergeValues(other, value);
  }
  return merged;
}

function mergeValues(a: ScopeValues, b: ScopeValues): ScopeValues {
  if (a === '*' || b === '*') return '*';
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === true || b === true;
  const union = new Set([...a, ...b]);
  return union.size > CHANGE_VALUE_LIMIT ? '*' : [...union];
}

function withoutValues(change: TableChange): TableChange {
  const many = (scopes: Readonly<Record<string, ScopeValues>> | undefined) =>
    scopes &&
    Object.fromEntries(
      Object.entries(scopes).map(([key, value]): [string, ScopeValues] => [
        key,
        typeof value === 'boolean' ? value : '*',
      ]),
    );
  return { t: change.t, r: many(change.r) as TableChange['r'], s: many(change.s) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A restriction value as PostgreSQL prints the column (`col::text`), so the
 * values in a message, the trigger's and the upload's, match a subscriber's
 * context value directly.
 */
export function restrictionValueText(kind: string | undefined, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (kind === 'uuid') return text.toLowerCase();
  if ((kind === 'integer' || kind === 'bigint') && /^[+-]?\d+$/.test(text.trim())) {
    return BigInt(text.trim()).toString();
  }
  return text;
}
