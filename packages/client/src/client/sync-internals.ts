import type { Replica } from '../replica/replica.ts';
import type { Push } from '../sync/transport.ts';

/** Test hook: the engine's parts, reachable from tests only (not exported by the package). */
export const SYNC_INTERNALS: unique symbol = Symbol('carburetor.syncInternals');

/** What {@link SYNC_INTERNALS} holds. */
export interface SyncInternals {
  replica: Replica;
  /** Resolves with the rows sent. */
  upload(group: string): Promise<number>;
  download(group: string): Promise<void>;
  /** Applies a push as the realtime feed would; resolves with the tables to download instead. */
  applyPush(group: string, tables: readonly string[], push: Push): Promise<string[]>;
}
