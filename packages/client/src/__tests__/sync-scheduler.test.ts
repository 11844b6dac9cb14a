import { describe, expect, test } from 'vitest';
import { OnlineManager } from '../environment/online-manager.ts';
import { VisibilityManager } from '../environment/visibility-manager.ts';
import { backoffDelay } from '../sync/backoff.ts';
import {
  type SchedulerClock,
  type SyncPass,
  SyncScheduler,
  type SyncSchedulerHost,
} from '../sync/sync-scheduler.ts';

/** Lets every promise callback queued so far run (a real macrotask turn). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A clock the test moves by hand: no wall time, no real timers. */
function manualClock(start = 0) {
  let now = start;
  let next = 0;
  const timers = new Map<number, { at: number; fire: () => void }>();
  const clock: SchedulerClock = {
    now: () => now,
    setTimeout: (fire, ms) => {
      next += 1;
      timers.set(next, { at: now + Math.max(0, ms), fire });
      return next;
    },
    clearTimeout: (handle) => {
      timers.delete(handle as number);
    },
  };
  return {
    clock,
    timers: () => timers.size,
    now: () => now,
    /** Moves time by `ms`, firing due timers in order and letting each pass settle. */
    async advance(ms: number) {
      const end = now + ms;
      await flush();
      for (;;) {
        const due = [...timers]
          .filter(([, t]) => t.at <= end)
          .sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fire();
        await flush();
      }
      now = end;
      await flush();
    },
  };
}

type Outcome = 'ok' | 'fail' | 'hold';

/** A scheduler over a fake runner whose passes end when and how the test says. */
function harness(
  options: { random?: () => number; leadership?: SyncSchedulerHost['leadership'] } = {},
) {
  const time = manualClock(1_000_000);
  const online = new OnlineManager(() => undefined);
  const visibility = new VisibilityManager(() => undefined);
  const passes: { at: number; pass: SyncPass }[] = [];
  const active: boolean[] = [];
  const running: boolean[] = [];
  let outcome: Outcome = 'ok';
  let finish: ((ok: boolean) => void) | undefined;
  let pending = false;
  const scheduler = new SyncScheduler({
    clock: time.clock,
    random: options.random ?? (() => 0.5),
    online,
    visibility,
    leadership: options.leadership,
    hasPendingWrites: () => pending,
    runningChanged: (r) => running.push(r),
    activeChanged: (a) => active.push(a),
    run: (pass) => {
      passes.push({ at: time.now() - 1_000_000, pass });
      return new Promise<void>((resolve, reject) => {
        finish = (ok) => {
          finish = undefined;
          if (ok) resolve();
          else reject(new Error('down'));
        };
        if (outcome !== 'hold') finish(outcome === 'ok');
      });
    },
  });
  const at = (kind: SyncPass['kind']) =>
    passes.filter((p) => p.pass.kind === kind).map((p) => p.at);
  return {
    scheduler,
    online,
    visibility,
    time,
    active,
    running,
    passes,
    /** When full syncs started (ms since the test began). */
    syncs: () => at('sync'),
    /** When download passes started. */
    downloads: () => at('download'),
    set: (next: Outcome) => {
      outcome = next;
    },
    pendingWrites: (value: boolean) => {
      pending = value;
    },
    finish: (ok: boolean) => finish?.(ok),
  };
}

describe('SyncScheduler: time', () => {
  test('syncs at start and on the interval; stop leaves no timer; start and stop are idempotent', async () => {
    const h = harness();
    h.scheduler.start({ intervalMs: 1_000, debounceMs: 50 });
    h.scheduler.start({ intervalMs: 5 }); // idempotent
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0]);
    await h.time.advance(1_000);
    expect(h.syncs()).toEqual([0, 1_000]);
    await h.time.advance(2_000);
    expect(h.syncs()).toEqual([0, 1_000, 2_000, 3_000]);
    h.scheduler.stop();
    h.scheduler.stop();
    expect(h.time.timers()).toBe(0);
    await h.time.advance(10_000);
    expect(h.syncs()).toHaveLength(4);
    expect(h.running).toEqual([true, false]);
  });

  test('reads time only from the injected clock (it starts far from the wall clock)', async () => {
    const h = harness();
    h.scheduler.start({ intervalMs: 500 });
    await h.time.advance(499);
    expect(h.syncs()).toEqual([0]);
    await h.time.advance(1);
    expect(h.syncs()).toEqual([0, 500]);
    h.scheduler.stop();
  });

  test('bad options are refused', () => {
    const h = harness();
    expect(() => h.scheduler.start({ intervalMs: -1 })).toThrow(/intervalMs/);
    expect(() => h.scheduler.start({ debounceMs: Number.POSITIVE_INFINITY })).toThrow(/debounceMs/);
    expect(() => h.scheduler.start({ backoff: { baseMs: Number.NaN } })).toThrow(/backoff.baseMs/);
    expect(h.scheduler.running).toBe(false);
  });
});

describe('SyncScheduler: local writes', () => {
  test('a lone write uploads at once; a burst waits for the debounce mark after the last upload started', async () => {
    const h = harness();
    h.scheduler.start({ intervalMs: 60_000, debounceMs: 50 });
    await h.time.advance(100);
    expect(h.syncs()).toEqual([0]);
    h.scheduler.localWrite(); // idle, nothing started within 50 ms: at once
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 100]);
    await h.time.advance(10);
    h.scheduler.localWrite(); // 10 ms after an upload started: grouped at 150
    await h.time.advance(20);
    h.scheduler.localWrite(); // joins it
    await h.time.advance(19);
    expect(h.syncs()).toEqual([0, 100]);
    await h.time.advance(1);
    expect(h.syncs()).toEqual([0, 100, 150]);
    await h.time.advance(500);
    h.scheduler.localWrite(); // lone again
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 100, 150, 650]);
    h.scheduler.stop();
  });

  test('writes during a pass: one more sync right after it (not before the debounce mark)', async () => {
    const h = harness();
    h.set('hold');
    h.scheduler.start({ intervalMs: 60_000, debounceMs: 20 });
    await h.time.advance(0);
    h.scheduler.localWrite();
    h.scheduler.localWrite();
    await h.time.advance(500);
    expect(h.syncs()).toEqual([0]); // still in flight
    h.set('ok');
    h.finish(true);
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 500]);

    // A pass shorter than the debounce: the writes made during it wait for the mark.
    h.set('hold');
    await h.time.advance(1_000);
    h.scheduler.localWrite();
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 500, 1_500]);
    await h.time.advance(5);
    h.scheduler.localWrite();
    h.set('ok');
    h.finish(true);
    await h.time.advance(14);
    expect(h.syncs()).toHaveLength(3);
    await h.time.advance(1);
    expect(h.syncs()).toEqual([0, 500, 1_500, 1_520]);
    h.scheduler.stop();
  });

  test('stopped: a write schedules nothing', async () => {
    const h = harness();
    h.scheduler.localWrite();
    await h.time.advance(1_000);
    expect(h.passes).toEqual([]);
    expect(h.time.timers()).toBe(0);
  });
});

describe('SyncScheduler: failures', () => {
  test('failures back off, doubling and capped, jittered; a write does not hurry a retry; success resets', async () => {
    expect(
      [1, 2, 3, 4, 5].map((n) => backoffDelay(n, { baseMs: 100, maxMs: 1_000 }, () => 0)),
    ).toEqual([50, 100, 200, 400, 500]);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 1_000 }, () => 0.999)).toBeCloseTo(400, 0);
    const h = harness({ random: () => 1 });
    h.set('fail');
    h.scheduler.start({ intervalMs: 60_000, backoff: { baseMs: 100, maxMs: 400 } });
    await h.time.advance(2_000);
    expect(h.syncs()).toEqual([0, 100, 300, 700, 1_100, 1_500, 1_900]);
    h.scheduler.localWrite(); // backing off: a write does not hurry the retry
    h.set('ok');
    await h.time.advance(299);
    expect(h.syncs().at(-1)).toBe(1_900);
    await h.time.advance(101);
    expect(h.syncs().at(-1)).toBe(2_300);
    await h.time.advance(60_000);
    expect(h.syncs().at(-1)).toBe(62_300); // back to the interval
    h.scheduler.localWrite(); // no longer backing off, 100 ms after the last upload: at once
    await h.time.advance(0);
    expect(h.syncs().at(-1)).toBe(62_400);
    await h.time.advance(10);
    h.scheduler.localWrite(); // within the default 100 ms debounce: at 62_500
    await h.time.advance(89);
    expect(h.syncs().at(-1)).toBe(62_400);
    await h.time.advance(1);
    expect(h.syncs().at(-1)).toBe(62_500);
    h.scheduler.stop();
  });

  test('a poke hurries a retry: the server just proved reachable', async () => {
    const h = harness({ random: () => 1 });
    h.set('fail');
    h.scheduler.start({ intervalMs: 60_000, backoff: { baseMs: 10_000, maxMs: 10_000 } });
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0]);
    h.set('ok');
    await h.time.advance(100);
    h.scheduler.poke('g');
    await h.time.advance(0);
    expect(h.downloads()).toEqual([100]);
    h.scheduler.stop();
  });

  test('a pass failing while offline is not retried until the device is back', async () => {
    const h = harness();
    h.set('hold');
    h.scheduler.start({ backoff: { baseMs: 10 } });
    await h.time.advance(0);
    h.online.setOnline(false);
    h.finish(false);
    await h.time.advance(10_000);
    expect(h.passes).toHaveLength(1);
    expect(h.time.timers()).toBe(0);
    h.set('ok');
    h.online.setOnline(true);
    await h.time.advance(0);
    expect(h.passes).toHaveLength(2);
    h.scheduler.stop();
  });
});

describe('SyncScheduler: environment', () => {
  test('offline: no passes and no timers; back online or visible: a sync at once; stopped: neither', async () => {
    const h = harness();
    h.scheduler.start({ intervalMs: 1_000, debounceMs: 10 });
    await h.time.advance(0);
    h.online.setOnline(false);
    expect(h.time.timers()).toBe(0);
    h.scheduler.localWrite();
    h.scheduler.poke('g');
    await h.time.advance(5_000);
    expect(h.passes.map((p) => p.at)).toEqual([0]);
    h.online.setOnline(true);
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 5_000]);
    h.visibility.setVisible(false);
    await h.time.advance(100);
    h.visibility.setVisible(true);
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 5_000, 5_100]);
    h.scheduler.stop();
    h.online.setOnline(false);
    h.online.setOnline(true);
    h.visibility.setVisible(false);
    h.visibility.setVisible(true);
    expect(h.time.timers()).toBe(0);
    await h.time.advance(5_000);
    expect(h.passes).toHaveLength(3);
  });

  test('an environment event during a pass: one sync after it', async () => {
    const h = harness();
    h.set('hold');
    h.scheduler.start({ intervalMs: 60_000, debounceMs: 0 });
    await h.time.advance(0);
    h.visibility.setVisible(false);
    h.visibility.setVisible(true);
    await h.time.advance(30);
    h.set('ok');
    h.finish(true);
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 30]);
    h.scheduler.stop();
  });

  test('activeChanged follows start, stop, online and leadership; only the leader syncs', async () => {
    let leader = true;
    const leaderListeners = new Set<(l: boolean) => void>();
    const setLeader = (value: boolean) => {
      leader = value;
      for (const l of leaderListeners) l(value);
    };
    const h = harness({
      leadership: {
        isLeader: () => leader,
        subscribe: (l) => {
          leaderListeners.add(l);
          return () => leaderListeners.delete(l);
        },
      },
    });
    h.scheduler.start({ intervalMs: 1_000 });
    await h.time.advance(0);
    h.online.setOnline(false);
    h.online.setOnline(true);
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 0]);
    setLeader(false);
    expect(h.scheduler.active).toBe(false);
    expect(h.time.timers()).toBe(0);
    h.scheduler.localWrite();
    await h.time.advance(5_000);
    expect(h.syncs()).toEqual([0, 0]);
    setLeader(true);
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 0, 5_000]);
    h.scheduler.stop();
    expect(leaderListeners.size).toBe(0);
    expect(h.active).toEqual([true, false, true, false, true, false]);
  });
});

describe('SyncScheduler: pokes', () => {
  test('a poke downloads the poked groups at once; during a pass it queues one download; the interval stays', async () => {
    const h = harness();
    h.scheduler.start({ intervalMs: 1_000, debounceMs: 50 });
    await h.time.advance(100);
    h.scheduler.poke('a');
    h.scheduler.poke('b');
    await h.time.advance(0);
    expect(h.passes.at(-1)).toEqual({ at: 100, pass: { kind: 'download', groups: ['a', 'b'] } });
    // Several pokes during a download: one more download after it, of those groups.
    h.set('hold');
    h.scheduler.poke('a');
    await h.time.advance(10);
    expect(h.downloads()).toEqual([100, 100]);
    h.scheduler.poke('b');
    h.scheduler.poke('b');
    await h.time.advance(40);
    h.set('ok');
    h.finish(true);
    await h.time.advance(0);
    expect(h.downloads()).toEqual([100, 100, 150]);
    expect(h.passes.at(-1)?.pass).toEqual({ kind: 'download', groups: ['b'] });
    // The interval is still counted from the last full sync.
    await h.time.advance(850);
    expect(h.syncs()).toEqual([0, 1_000]);
    // A write during a download: a sync after it; a sync due covers the poke.
    h.set('hold');
    h.scheduler.poke('a');
    await h.time.advance(0);
    h.scheduler.localWrite();
    h.set('ok');
    h.finish(true);
    await h.time.advance(50);
    expect(h.syncs()).toEqual([0, 1_000, 1_050]);
    expect(h.downloads()).toHaveLength(4);
    h.scheduler.stop();
    h.scheduler.poke('a');
    expect(h.time.timers()).toBe(0);
  });

  test('a poke while local writes wait runs a full sync; a full sync answers the pokes before it', async () => {
    const h = harness();
    h.scheduler.start({ intervalMs: 60_000, debounceMs: 10_000 });
    await h.time.advance(100);
    h.pendingWrites(true);
    h.scheduler.localWrite(); // waits for the debounce mark at 10_000
    h.scheduler.poke('a');
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 100]);
    expect(h.downloads()).toEqual([]);
    // The sync carries the poke: the runner downloads that group even where pushes come.
    expect(h.passes.at(-1)).toEqual({ at: 100, pass: { kind: 'sync', poked: ['a'] } });
    // Poked during a full sync: the download after it is of that group only.
    h.pendingWrites(false);
    h.set('hold');
    const appSync = h.scheduler.sync(); // idle: runs now
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 100, 100]);
    h.scheduler.poke('b');
    h.finish(true);
    await appSync;
    await h.time.advance(0);
    expect(h.passes.at(-1)).toEqual({ at: 100, pass: { kind: 'download', groups: ['b'] } });
    h.scheduler.stop();
  });
});

describe("SyncScheduler: the app's sync()", () => {
  test('runs at once while stopped, joins a sync in flight, and rejects when it fails', async () => {
    const h = harness();
    h.set('hold');
    const first = h.scheduler.sync();
    const joined = h.scheduler.sync();
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0]);
    h.finish(true);
    await expect(first).resolves.toBeUndefined();
    await expect(joined).resolves.toBeUndefined();
    h.set('fail');
    await expect(h.scheduler.sync()).rejects.toThrow('down');
    expect(h.time.timers()).toBe(0); // stopped: no retry
    await h.scheduler.idle();
  });

  test('during a download runs right after it; a failure backs the loop off', async () => {
    const h = harness({ random: () => 1 });
    h.scheduler.start({ intervalMs: 60_000, backoff: { baseMs: 1_000, maxMs: 1_000 } });
    await h.time.advance(10);
    h.set('hold');
    h.scheduler.poke('a');
    await h.time.advance(0);
    expect(h.downloads()).toEqual([10]);
    const queued = h.scheduler.sync();
    const again = h.scheduler.sync();
    expect(again).toBe(queued);
    await h.time.advance(20);
    expect(h.syncs()).toEqual([0]);
    h.finish(true); // the download ends: the app's sync starts
    await h.time.advance(0);
    expect(h.syncs()).toEqual([0, 30]);
    let settled = false;
    void h.scheduler.idle().then(() => {
      settled = true;
    });
    await h.time.advance(0);
    expect(settled).toBe(false);
    h.finish(false);
    await expect(queued).rejects.toThrow('down');
    await h.time.advance(0);
    expect(settled).toBe(true);
    h.set('ok');
    await h.time.advance(999);
    expect(h.syncs()).toEqual([0, 30]);
    await h.time.advance(1);
    expect(h.syncs()).toEqual([0, 30, 1_030]);
    h.scheduler.stop();
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
