/**
 * What a client may read of a download cursor, to tell whether a pushed page
 * continues it. The cursor stays the server's (it makes and checks every
 * field); this reads six of them and never builds one. Its text is
 * base64url JSON: `f` the fingerprint, `l` the floor of the last completed
 * pass (a decimal transaction id, or null), `d` the database history the
 * floor belongs to (absent in older cursors), `k` the config identity whose
 * columns it delivered (absent in older cursors), `r` the run of the
 * primary it was made in (`<started>:<checkpoint xid>`, absent in older
 * cursors), and `p`/`x`/`i` only inside a pass.
 */
export interface CursorPosition {
  readonly fingerprint: string;
  /** `<system identifier>.<timeline>` of the database the floor is from; undefined in older cursors. */
  readonly history: string | undefined;
  /** When the run of the primary the cursor was made in started; undefined in older cursors. */
  readonly run: string | undefined;
  /** Every row written by a transaction below it has been delivered; null before the first pass ended. */
  readonly floor: bigint | null;
  /** More pages of a pass follow: a pushed page must not interleave with them. */
  readonly inPass: boolean;
  /** The identity of the config whose columns the cursor delivered (`k`); undefined in older cursors. */
  readonly config: string | undefined;
}

function base64UrlToText(text: string): string {
  const base64 = text.replaceAll('-', '+').replaceAll('_', '/');
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/**
 * The position of a cursor, or undefined when the text is not one this
 * version can read (the client then downloads, which is always safe).
 *
 * @example
 * ```ts
 * const at = readCursorPosition(page.cursor);
 * if (at?.floor != null && !at.inPass && at.floor >= BigInt(push.from)) apply(push);
 * ```
 */
export function readCursorPosition(text: string): CursorPosition | undefined {
  let json: unknown;
  try {
    json = JSON.parse(base64UrlToText(text));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const { f, l, d, p, x, i, k, r } = json as Record<string, unknown>;
  if (typeof f !== 'string') return undefined;
  if (d !== undefined && typeof d !== 'string') return undefined;
  if (k !== undefined && typeof k !== 'string') return undefined;
  if (r !== undefined && (typeof r !== 'string' || !/^\d{1,20}:\d{1,20}$/.test(r))) {
    return undefined;
  }
  if (l !== null && (typeof l !== 'string' || !/^\d{1,20}$/.test(l))) return undefined;
  return {
    fingerprint: f,
    history: d,
    run: r?.split(':')[0],
    floor: l === null ? null : BigInt(l),
    inPass: p !== undefined || x !== undefined || i !== undefined,
    config: k,
  };
}

/**
 * Whether a pushed page from `from` that ends at `pushed` (its cursor) can
 * be applied on top of `held` (the client's cursor): same fingerprint,
 * database history and run of the primary (floors of two histories do not
 * compare: after a failover the new primary reuses transaction ids, and
 * after a crash restart it may hand out again xids a floor had passed), no
 * pass in progress,
 * and no gap (the held floor is at least `from`). A held floor already at
 * or past the pushed one means the page brings nothing new.
 *
 * @example
 * ```ts
 * pushContinues(stored, page.from, page.cursor); // 'apply' | 'skip' | 'gap'
 * ```
 */
export function pushContinues(
  held: string | null,
  from: string,
  pushed: string,
): 'apply' | 'skip' | 'gap' {
  if (held === null || !/^\d{1,20}$/.test(from)) return 'gap';
  const mine = readCursorPosition(held);
  const theirs = readCursorPosition(pushed);
  if (!mine || !theirs || mine.fingerprint !== theirs.fingerprint) return 'gap';
  if (mine.history !== theirs.history || mine.run !== theirs.run) return 'gap';
  // Pages of another config's columns: the cursor would claim columns the replica never got.
  if (mine.config !== theirs.config) return 'gap';
  if (mine.inPass || mine.floor === null || theirs.floor === null) return 'gap';
  if (mine.floor < BigInt(from)) return 'gap';
  return mine.floor >= theirs.floor ? 'skip' : 'apply';
}
