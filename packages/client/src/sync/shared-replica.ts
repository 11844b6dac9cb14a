import type { ChangeEvent } from './change-emitter.ts';

/**
 * Who runs the background sync when several tabs (or processes) share one
 * replica: only the leader's loop syncs; the others wait and take over when
 * they become the leader. `opfsDriver` provides one (the tab that owns the
 * database leads).
 *
 * @example
 * ```ts
 * const solo: SyncLeadership = { isLeader: () => true, subscribe: () => () => {} };
 * ```
 */
export interface SyncLeadership {
  isLeader(): boolean;
  /** Calls `listener` whenever leadership changes; returns the unsubscribe function. */
  subscribe(listener: (leader: boolean) => void): () => void;
}

/**
 * Carries change events between the clients of one shared replica (tabs), so
 * each client's `onChange` listeners also hear of the others' commits. An
 * event published is delivered to the other clients, not back to the sender.
 *
 * @example
 * ```ts
 * const bc = new BroadcastChannel('my-app-changes');
 * const channel: ChangeChannel = {
 *   publish: (event) => bc.postMessage(event),
 *   subscribe: (listener) => {
 *     const on = (e: MessageEvent<ChangeEvent>) => listener(e.data);
 *     bc.addEventListener('message', on);
 *     return () => bc.removeEventListener('message', on);
 *   },
 * };
 * ```
 */
export interface ChangeChannel {
  publish(event: ChangeEvent): void;
  subscribe(listener: (event: ChangeEvent) => void): () => void;
}

/** What a driver shared between tabs offers the sync client (`opfsDriver` has both). */
export interface SharedReplicaHooks {
  readonly leadership?: SyncLeadership;
  readonly changeChannel?: ChangeChannel;
}
