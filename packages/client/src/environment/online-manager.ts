/**
 * Called with the new state whenever it changes.
 *
 * @example
 * ```ts
 * const unsubscribe = onlineManager.subscribe((state) => console.log(state));
 * ```
 */
export type OnlineListener = (online: boolean) => void;

/**
 * Connects an {@link OnlineManager} to the environment: receives the
 * manager's `setOnline` and returns the cleanup that detaches it (or nothing).
 *
 * @example
 * ```ts
 * const electron: OnlineEventSetup = (setOnline) => {
 *   const off = ipc.on('network', (_e, up: boolean) => setOnline(up));
 *   return () => off();
 * };
 * onlineManager.setEventListener(electron);
 * ```
 */
export type OnlineEventSetup = (setOnline: (online: boolean) => void) => (() => void) | undefined;

/** Listens to the window's `online` / `offline` events; does nothing outside a browser. */
const windowOnlineEvents: OnlineEventSetup = (setOnline) => {
  if (typeof window === 'undefined' || typeof window.addEventListener !== 'function') {
    return undefined;
  }
  const online = () => setOnline(true);
  const offline = () => setOnline(false);
  window.addEventListener('online', online, false);
  window.addEventListener('offline', offline, false);
  return () => {
    window.removeEventListener('online', online);
    window.removeEventListener('offline', offline);
  };
};

/**
 * Whether the device is online, as the background sync sees it (after
 * TanStack Query's `onlineManager`). While offline the sync loop sends
 * nothing; when the device comes back, it syncs at once. Starts online:
 * `navigator.onLine` is unreliable (it says true behind a dead network, and
 * some browsers say false wrongly), so only the `online`/`offline` events
 * change it. The event listener is attached while someone subscribes and can
 * be swapped (React Native's NetInfo, Electron, tests).
 *
 * @example
 * ```ts
 * import { onlineManager } from '@carburetor/client';
 * // React Native:
 * onlineManager.setEventListener((setOnline) =>
 *   NetInfo.addEventListener((state) => setOnline(Boolean(state.isConnected))),
 * );
 * // A test:
 * const online = new OnlineManager();
 * const client = await createSyncClient(config, { ...options, onlineManager: online });
 * online.setOnline(false);
 * ```
 */
export class OnlineManager {
  #online = true;
  #listeners = new Set<OnlineListener>();
  #setup: OnlineEventSetup;
  #cleanup: (() => void) | undefined;

  /** `setup` defaults to the window's `online` / `offline` events (none in Node). */
  constructor(setup: OnlineEventSetup = windowOnlineEvents) {
    this.#setup = setup;
  }

  /** Whether the device is online now. */
  isOnline(): boolean {
    return this.#online;
  }

  /** Sets the state; listeners hear of it only when it changes. */
  setOnline(online: boolean): void {
    if (this.#online === online) return;
    this.#online = online;
    for (const listener of [...this.#listeners]) {
      try {
        listener(online);
      } catch (error) {
        console.error('Carburetor: an online listener threw', error);
      }
    }
  }

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: OnlineListener): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1 && this.#cleanup === undefined) {
      this.#cleanup = this.#setup((online) => this.setOnline(online));
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#detach();
    };
  }

  /** Replaces how the manager learns the state (detaching the previous setup). */
  setEventListener(setup: OnlineEventSetup): void {
    this.#detach();
    this.#setup = setup;
    if (this.#listeners.size > 0) {
      this.#cleanup = setup((online) => this.setOnline(online));
    }
  }

  #detach(): void {
    const cleanup = this.#cleanup;
    this.#cleanup = undefined;
    cleanup?.();
  }
}

/**
 * The default {@link OnlineManager} every sync client uses unless given its
 * own `onlineManager` option.
 *
 * @example
 * ```ts
 * onlineManager.setOnline(false); // every client on the default manager pauses its loop
 * ```
 */
export const onlineManager: OnlineManager = new OnlineManager();
