import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { OnlineManager } from '../environment/online-manager.ts';
import { VisibilityManager } from '../environment/visibility-manager.ts';
import { backoffDelay } from '../sync/backoff.ts';
import { SyncLoop } from '../sync/sync-loop.ts';

/** A loop over a fake sync that resolves or fails when the test says. */
function harness(random = () => 0.5) {
  const online = new OnlineManager(() => undefined);
  const visibility = new VisibilityManager(() => undefined);
  const calls: number[] = [];
  const downloads: number[] = [];
  let outcome: 'ok' | 'fail' | 'hold' = 'ok';
  let finish: ((ok: boolean) => void) | undefined;
  const loop: SyncLoop = new SyncLoop({
    online,
    visibility,
    random,
    runningChanged: () => undefined,
    download: () => {
      downloads.push(Date.now());
      loop.syncStarted('download');
      return new Promise<void>((resolve) => {
        finish = (ok) => {
          loop.syncSettled(ok, 'download');
          resolve();
        };
        if (outcome !== 'hold') finish(outcome === 'ok');
      });
    },
    sync: () => {
      calls.push(Date.now());
      loop.syncStarted();
      return new Promise<void>((resolve, reject) => {
        finish = (ok) => {
          loop.syncSettled(ok);
          if (ok) resolve();
          else reject(new Error('down'));
        };
        if (outcome !== 'hold') finish(outcome === 'ok');
      });
    },
  });
  return {
    loop,
    online,
    visibility,
    calls,
    downloads,
    set: (next: typeof outcome) => {
      outcome = next;
    },
    finish: (ok: boolean) => finish?.(ok),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SyncLoop', () => {
  test('syncs at start, on the interval, soon after a write; stop leaves no timer', async () => {
    const h = harness();
    h.loop.start({ intervalMs: 1_000, debounceMs: 50 });
    h.loop.start({ intervalMs: 5 }); // idempotent
    await vi.advanceTimersByTimeAsync(0);
    expect(h.calls).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.calls).toEqual([0, 1_000]);
    await vi.advanceTimersByTimeAsync(100);
    h.loop.localWrite();
    h.loop.localWrite(); // within the debounce: one sync
    await vi.advanceTimersByTimeAsync(50);
    expect(h.calls).toEqual([0, 1_000, 1_150]);
    h.loop.stop();
    h.loop.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.calls.length).toBe(3);
  });

  test('one sync at a time: a write during a sync runs one more after it', async () => {
    const h = harness();
    h.set('hold');
    h.loop.start({ intervalMs: 60_000, debounceMs: 20 });
    await vi.advanceTimersByTimeAsync(0);
    h.loop.localWrite();
    h.loop.localWrite();
    await vi.advanceTimersByTimeAsync(500);
    expect(h.calls.length).toBe(1); // still in flight
    h.set('ok');
    h.finish(true);
    await vi.advanceTimersByTimeAsync(20);
    expect(h.calls).toEqual([0, 520]);
    h.loop.stop();
  });

  test('failures back off, doubling and capped, jittered; success resets', async () => {
    expect(
      [1, 2, 3, 4, 5].map((n) => backoffDelay(n, { baseMs: 100, maxMs: 1_000 }, () => 0)),
    ).toEqual([50, 100, 200, 400, 500]);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 1_000 }, () => 0.999)).toBeCloseTo(400, 0);
    const h = harness(() => 1);
    h.set('fail');
    h.loop.start({ intervalMs: 60_000, backoff: { baseMs: 100, maxMs: 400 } });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(h.calls).toEqual([0, 100, 300, 700, 1_100, 1_500, 1_900]);
    h.loop.localWrite(); // backing off: a write does not hurry the retry
    h.set('ok');
    await vi.advanceTimersByTimeAsync(400);
    expect(h.calls.at(-1)).toBe(2_300);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.calls.at(-1)).toBe(62_300); // back to the interval
    h.loop.stop();
  });

  test('offline: no syncs and no timers; back online or visible: a sync at once', async () => {
    const h = harness();
    h.loop.start({ intervalMs: 1_000, debounceMs: 10 });
    await vi.advanceTimersByTimeAsync(0);
    h.online.setOnline(false);
    expect(vi.getTimerCount()).toBe(0);
    h.loop.localWrite();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.calls).toEqual([0]);
    h.online.setOnline(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.calls).toEqual([0, 5_000]);
    h.visibility.setVisible(false);
    await vi.advanceTimersByTimeAsync(100);
    h.visibility.setVisible(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.calls).toEqual([0, 5_000, 5_100]);
    h.loop.stop();
    h.online.setOnline(false);
    h.online.setOnline(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('a failing sync while offline is not retried until the device is back', async () => {
    const h = harness();
    h.set('hold');
    h.loop.start({ backoff: { baseMs: 10 } });
    await vi.advanceTimersByTimeAsync(0);
    h.online.setOnline(false);
    h.finish(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.calls.length).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    h.set('ok');
    h.online.setOnline(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.calls.length).toBe(2);
    h.loop.stop();
  });

  test('a poke downloads at once; during a run it queues one download; the interval stays', async () => {
    const h = harness();
    h.loop.start({ intervalMs: 1_000, debounceMs: 50 });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.calls).toEqual([0]);
    await vi.advanceTimersByTimeAsync(100);
    h.loop.remoteChange();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.downloads).toEqual([100]);
    // Several pokes during a download: one more download after it.
    h.set('hold');
    h.loop.remoteChange();
    await vi.advanceTimersByTimeAsync(10);
    expect(h.downloads).toEqual([100, 100]);
    h.loop.remoteChange();
    h.loop.remoteChange();
    await vi.advanceTimersByTimeAsync(40);
    h.set('ok');
    h.finish(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.downloads).toEqual([100, 100, 150]);
    // The interval is still counted from the last full sync.
    await vi.advanceTimersByTimeAsync(850);
    expect(h.calls).toEqual([0, 1_000]);
    // A write during a download: a sync after it; a sync due covers a poke.
    h.set('hold');
    h.loop.remoteChange();
    await vi.advanceTimersByTimeAsync(0);
    h.loop.localWrite();
    h.set('ok');
    h.finish(true);
    await vi.advanceTimersByTimeAsync(50);
    expect(h.calls).toEqual([0, 1_000, 1_050]);
    expect(h.downloads).toHaveLength(4);
    h.loop.stop();
    h.loop.remoteChange();
    expect(vi.getTimerCount()).toBe(0);
  });

  test('activeChanged follows start, stop, online and leadership', async () => {
    const online = new OnlineManager(() => undefined);
    let leader = true;
    const leaderListeners = new Set<(l: boolean) => void>();
    const seen: boolean[] = [];
    const loop: SyncLoop = new SyncLoop({
      online,
      visibility: new VisibilityManager(() => undefined),
      runningChanged: () => undefined,
      activeChanged: (active) => seen.push(active),
      leadership: {
        isLeader: () => leader,
        subscribe: (l) => {
          leaderListeners.add(l);
          return () => leaderListeners.delete(l);
        },
      },
      sync: async () => {
        loop.syncStarted();
        loop.syncSettled(true);
      },
    });
    loop.start();
    online.setOnline(false);
    online.setOnline(true);
    leader = false;
    for (const l of leaderListeners) l(false);
    leader = true;
    for (const l of leaderListeners) l(true);
    loop.stop();
    expect(seen).toEqual([true, false, true, false, true, false]);
  });

  test('bad options are refused', () => {
    const h = harness();
    expect(() => h.loop.start({ intervalMs: -1 })).toThrow(/intervalMs/);
    expect(() => h.loop.start({ backoff: { baseMs: Number.NaN } })).toThrow(/backoff.baseMs/);
    expect(h.loop.running).toBe(false);
  });
});

describe('environment managers', () => {
  test('attach their event setup while subscribed, swap it, and notify changes only', () => {
    const detached: string[] = [];
    let push: ((online: boolean) => void) | undefined;
    const online = new OnlineManager((set) => {
      push = set;
      return () => detached.push('first');
    });
    const heard: boolean[] = [];
    const unsubscribe = online.subscribe((v) => heard.push(v));
    push?.(false);
    push?.(false);
    push?.(true);
    expect(heard).toEqual([false, true]);
    online.setEventListener((set) => {
      push = set;
      return () => detached.push('second');
    });
    expect(detached).toEqual(['first']);
    push?.(false);
    unsubscribe();
    expect(detached).toEqual(['first', 'second']);
    expect(online.isOnline()).toBe(false);

    const visibility = new VisibilityManager(() => undefined);
    const seen: boolean[] = [];
    visibility.subscribe((v) => seen.push(v));
    expect(visibility.isVisible()).toBe(true); // Node: no document
    visibility.setVisible(false);
    visibility.setVisible(undefined);
    expect(seen).toEqual([false, true]);
  });
});
