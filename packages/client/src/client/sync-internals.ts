import type { Replica } from '../replica/replica.ts';

/** Test hook: the engine's parts, reachable from tests only (not exported by the package). */
export const SYNC_INTERNALS: unique symbol = Symbol('carburetor.syncInternals');

/** What {@link SYNC_INTERNALS} holds. */
export interface SyncInternals {
  replica: Replica;
  upload(group: string): Promise<void>;
  download(group: string): Promise<void>;
}
