/**
 * Called with the new state whenever it changes.
 *
 * @example
 * ```ts
 * const unsubscribe = visibilityManager.subscribe((state) => console.log(state));
 * ```
 */
export type VisibilityListener = (visible: boolean) => void;

/**
 * Connects a {@link VisibilityManager} to the environment: receives a
 * callback to call with `true`/`false` (or with nothing, to re-read the
 * document's state) and returns the cleanup that detaches it (or nothing).
 *
 * @example
 * ```ts
 * const focusToo: VisibilityEventSetup = (setVisible) => {
 *   const changed = () => setVisible();
 *   window.addEventListener('visibilitychange', changed);
 *   window.addEventListener('focus', changed);
 *   return () => {
 *     window.removeEventListener('visibilitychange', changed);
 *     window.removeEventListener('focus', changed);
 *   };
 * };
 * visibilityManager.setEventListener(focusToo);
 * ```
 */
export type VisibilityEventSetup = (
  setVisible: (visible?: boolean) => void,
) => (() => void) | undefined;

/** Listens to `visibilitychange` (it bubbles from the document); does nothing outside a browser. */
const windowVisibilityEvents: VisibilityEventSetup = (setVisible) => {
  if (typeof window === 'undefined' || typeof window.addEventListener !== 'function') {
    return undefined;
  }
  const changed = () => setVisible();
  window.addEventListener('visibilitychange', changed, false);
  return () => window.removeEventListener('visibilitychange', changed);
};

function documentVisible(): boolean {
  return typeof document === 'undefined' || document.visibilityState !== 'hidden';
}

/**
 * Whether the app is visible to the user (after TanStack Query's
 * `focusManager`). When the app becomes visible again, the background sync
 * runs soon, so a tab left in the background shows fresh data when the user
 * returns. Outside a browser the app is always visible unless told
 * otherwise with {@link VisibilityManager.setVisible}. The event listener is
 * attached while someone subscribes and can be swapped (React Native's
 * AppState, tests).
 *
 * @example
 * ```ts
 * import { visibilityManager } from '@carburetor/client';
 * // React Native:
 * visibilityManager.setEventListener((setVisible) => {
 *   const sub = AppState.addEventListener('change', (s) => setVisible(s === 'active'));
 *   return () => sub.remove();
 * });
 * ```
 */
export class VisibilityManager {
  /** What `setVisible` said; undefined: ask the document. */
  #visible: boolean | undefined;
  #last: boolean;
  #listeners = new Set<VisibilityListener>();
  #setup: VisibilityEventSetup;
  #cleanup: (() => void) | undefined;

  /** `setup` defaults to the window's `visibilitychange` event (none in Node). */
  constructor(setup: VisibilityEventSetup = windowVisibilityEvents) {
    this.#setup = setup;
    this.#last = documentVisible();
  }

  /** Whether the app is visible now. */
  isVisible(): boolean {
    return this.#visible ?? documentVisible();
  }

  /**
   * Sets the state (`undefined`: follow the document again); listeners hear
   * of it only when it changes.
   */
  setVisible(visible?: boolean): void {
    this.#visible = visible;
    const now = this.isVisible();
    if (now === this.#last) return;
    this.#last = now;
    for (const listener of [...this.#listeners]) {
      try {
        listener(now);
      } catch (error) {
        console.error('Carburetor: a visibility listener threw', error);
      }
    }
  }

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: VisibilityListener): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1 && this.#cleanup === undefined) {
      this.#last = this.isVisible();
      this.#cleanup = this.#setup((visible) => this.setVisible(visible));
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#detach();
    };
  }

  /** Replaces how the manager learns the state (detaching the previous setup). */
  setEventListener(setup: VisibilityEventSetup): void {
    this.#detach();
    this.#setup = setup;
    if (this.#listeners.size > 0) {
      this.#cleanup = setup((visible) => this.setVisible(visible));
    }
  }

  #detach(): void {
    const cleanup = this.#cleanup;
    this.#cleanup = undefined;
    cleanup?.();
  }
}

/**
 * The default {@link VisibilityManager} every sync client uses unless given
 * its own `visibilityManager` option.
 *
 * @example
 * ```ts
 * visibilityManager.setVisible(true); // sync now, as when the tab comes back
 * ```
 */
export const visibilityManager: VisibilityManager = new VisibilityManager();
