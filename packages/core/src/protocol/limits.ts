/**
 * Version of the wire protocol this code speaks. 2 added pushed pages: a
 * subscription that says `{ protocol: 2 }` gets the changed rows with its
 * pokes. Downloads and uploads are the same in 1 and 2. 3 is this
 * release's: see the server README, "Protocol versions".
 */
export const PROTOCOL_VERSION = 3;

/** The versions a server answers (each in its own version); a request with another is refused whole. */
export const SUPPORTED_PROTOCOL_VERSIONS = [1, 2, 3] as const;

/** The supported versions as a sentence says them: "1, 2 and 3". */
export const SUPPORTED_PROTOCOL_VERSIONS_TEXT = `${SUPPORTED_PROTOCOL_VERSIONS.slice(0, -1).join(', ')} and ${SUPPORTED_PROTOCOL_VERSIONS.at(-1)}`;

/** A version of the wire protocol a server answers. */
export type ProtocolVersion = (typeof SUPPORTED_PROTOCOL_VERSIONS)[number];

/** Rows per table a pushed page carries at most: a larger change is pushed as a poke (download it). */
export const MAX_PUSHED_ROWS = 1_000;

/** Most rows in one upload request; the client splits larger queues. */
export const MAX_UPLOAD_ROWS = 2_000;

/** Most bytes of one column value (UTF-8 text, JSON, or raw bytes). */
export const MAX_VALUE_BYTES = 256 * 1024;

/** Rows per table in a download page when the client does not say. */
export const DEFAULT_PAGE_SIZE = 1_000;

/** Most rows per table in one download page. */
export const MAX_PAGE_SIZE = 10_000;

/**
 * Most rows one progress estimate counts (`remaining` of a download page,
 * protocol 3): the count walks the caller's scope index, so its cost is
 * bounded by this many index entries (about 0.25 s for a million, measured
 * on the benchmarks' embedded PostgreSQL); a larger scope is counted again
 * as the client gets past the estimate. A million, so that a progress bar
 * knows its end for every scope up to that size.
 */
export const MAX_REMAINING_COUNT = 1_000_000;

/** How far ahead of server time a write time may be before it is refused with `clock_skew`. */
export const CLOCK_SKEW_TOLERANCE_MS = 10_000;

/** Longest opaque cursor the server accepts. */
export const MAX_CURSOR_LENGTH = 1_024;
