/**
 * How server instances tell each other what changed: a publish/subscribe
 * channel carrying {@link ChangeMessage} texts (see change-message.ts). Two
 * come with Carburetor: PostgreSQL LISTEN/NOTIFY (`createPostgresChangeBus`,
 * the default: no extra service) and Redis pub/sub (`createRedisChangeBus`).
 *
 * A bus delivers at most once and keeps nothing: a subscriber that was
 * away misses what was sent meanwhile. That is why a {@link ChangeHub}
 * pokes every subscriber once its bus subscription is back.
 */
export interface ChangeBus {
  /**
   * Opens one subscription; rejects if it cannot. Its `lost` handler is
   * called at most once, when the connection breaks: the hub then opens a
   * new one, with backoff.
   */
  subscribe(handlers: ChangeBusHandlers): Promise<ChangeBusSubscription>;
  /** Sends a message to every subscriber of every instance (this one's too). */
  publish(message: string): Promise<void>;
  /** The largest message the bus carries, in bytes, if it has a limit. */
  readonly maxMessageBytes?: number;
  /** Lets go of what the bus holds open for publishing. */
  close(): Promise<void>;
}

/** What a bus subscription reports. */
export interface ChangeBusHandlers {
  /** A message arrived. */
  message(text: string): void;
  /** The subscription broke (killed, network gone, server restarted); called at most once. */
  lost(error: unknown): void;
}

/** An open bus subscription. */
export interface ChangeBusSubscription {
  close(): Promise<void>;
}
