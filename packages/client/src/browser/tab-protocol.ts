import type { ChangeEvent } from '../sync/change-emitter.ts';
import type { OpfsStorage, WireError, WorkerOps } from './worker-protocol.ts';

/** The worker operations another tab may ask the owner to run. */
export type RelayOp = 'execute' | 'batch' | 'rawInsert';

/**
 * A tab's inbox (`carburetor:<name>:tab:<tabId>`, a BroadcastChannel only
 * that tab listens to) receives these: calls when the tab owns the replica,
 * replies when it does not.
 */
export type TabMessage =
  | {
      readonly kind: 'call';
      /** The calling tab, where the reply goes. */
      readonly from: string;
      readonly id: number;
      /**
       * The caller's exclusive section (a transaction, say), or undefined for a
       * single call. Calls of one section run back to back on the owner's
       * connection; the section holds it until `end`.
       */
      readonly section: number | undefined;
      readonly op: RelayOp;
      readonly args: WorkerOps[RelayOp]['args'];
    }
  | { readonly kind: 'end'; readonly from: string; readonly section: number }
  | {
      readonly kind: 'reply';
      readonly id: number;
      readonly ok: true;
      readonly result: WorkerOps[RelayOp]['result'];
    }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError }
  /** The owner is closing and did not run the call: send it to the next owner. */
  | { readonly kind: 'reply'; readonly id: number; readonly ok: 'moved' };

/** On `carburetor:<name>` (every tab): who owns the replica. */
export type ControlMessage =
  | { readonly kind: 'who' }
  | { readonly kind: 'owner'; readonly id: string; readonly storage: OpfsStorage };

/** On `carburetor:<name>:changes`: a client's committed change, for the other tabs' clients. */
export type ChangeMessage = ChangeEvent;

/** Channel and lock names of one replica. */
export const names = (name: string) => ({
  /** The Web Lock the owning tab holds, and the control BroadcastChannel. */
  owner: `carburetor:${name}`,
  /** Each tab's Web Lock (held for its life) and inbox BroadcastChannel. */
  tab: (id: string) => `carburetor:${name}:tab:${id}`,
  changes: `carburetor:${name}:changes`,
});

export type TabNames = ReturnType<typeof names>;
