import type { ChangeEvent } from '../sync/change-emitter.ts';
import type { ChangeChannel } from '../sync/shared-replica.ts';

/**
 * Change events between the tabs' clients, on the BroadcastChannel
 * `carburetor:<name>:changes`. The channel opens on first use, so a driver
 * that is never used opens nothing.
 */
export class ChangeBroadcast implements ChangeChannel {
  readonly #channelName: string;
  /** The database is closed: publish nothing and open no channel. */
  readonly #isClosed: () => boolean;
  readonly #listeners = new Set<(event: ChangeEvent) => void>();
  #channel: BroadcastChannel | undefined;

  constructor(channelName: string, isClosed: () => boolean) {
    this.#channelName = channelName;
    this.#isClosed = isClosed;
  }

  publish(event: ChangeEvent): void {
    if (this.#isClosed()) return;
    this.#open()?.postMessage({ tables: [...event.tables], source: event.source });
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.#open();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  close(): void {
    this.#channel?.close();
    this.#channel = undefined;
  }

  #open(): BroadcastChannel | undefined {
    if (this.#channel || this.#isClosed() || typeof BroadcastChannel === 'undefined') {
      return this.#channel;
    }
    const channel = new BroadcastChannel(this.#channelName);
    channel.onmessage = (event: MessageEvent<ChangeEvent>) => {
      for (const listener of [...this.#listeners]) {
        try {
          listener(event.data);
        } catch (error) {
          console.error('Carburetor: a change listener threw', error);
        }
      }
    };
    this.#channel = channel;
    return channel;
  }
}
