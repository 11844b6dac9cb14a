/** Version of the wire protocol; a request with another version is refused whole. */
export const PROTOCOL_VERSION = 1;

/** Most rows in one upload request; the client splits larger queues. */
export const MAX_UPLOAD_ROWS = 2_000;

/** Most bytes of one column value (UTF-8 text, JSON, or raw bytes). */
export const MAX_VALUE_BYTES = 256 * 1024;

/** Rows per table in a download page when the client does not say. */
export const DEFAULT_PAGE_SIZE = 1_000;

/** Most rows per table in one download page. */
export const MAX_PAGE_SIZE = 10_000;

/** How far ahead of server time a write time may be before it is refused with `clock_skew`. */
export const CLOCK_SKEW_TOLERANCE_MS = 10_000;

/** Longest opaque cursor the server accepts. */
export const MAX_CURSOR_LENGTH = 1_024;
