import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CarburetorError } from '../errors.ts';
import { createHybridClock } from '../rules/hlc.ts';
import { counterOfWriteTime, msOfWriteTime, writeTimeFromMs } from '../rules/stamp.ts';

const RUNS = { numRuns: 1000 };
const T0 = 1_700_000_000_000;

/** A wall clock the test sets by hand. */
function manualWall(start = T0) {
  const wall = { ms: start };
  return { wall, now: () => wall.ms };
}

describe('createHybridClock: stamp', () => {
  it('stamps the wall clock time with counter 0 when time moves on', () => {
    const { wall, now } = manualWall();
    const clock = createHybridClock({ now });
    expect(clock.stamp()).toBe(writeTimeFromMs(T0));
    wall.ms = T0 + 5;
    expect(clock.stamp()).toBe(writeTimeFromMs(T0 + 5));
  });

  it('increments the counter within one millisecond', () => {
    const clock = createHybridClock({ now: () => T0 });
    expect([clock.stamp(), clock.stamp(), clock.stamp()]).toEqual([
      writeTimeFromMs(T0, 0),
      writeTimeFromMs(T0, 1),
      writeTimeFromMs(T0, 2),
    ]);
  });

  it('moves the physical part on by 1 ms when the counter would pass 999', () => {
    const clock = createHybridClock({ now: () => T0 });
    let t = 0;
    for (let i = 0; i < 1000; i++) t = clock.stamp();
    expect(t).toBe(writeTimeFromMs(T0, 999));
    const next = clock.stamp();
    expect(msOfWriteTime(next)).toBe(T0 + 1);
    expect(counterOfWriteTime(next)).toBe(0);
    // The wall clock catching up to the borrowed millisecond continues the counter.
    expect(clock.stamp()).toBe(writeTimeFromMs(T0 + 1, 1));
  });

  it('floors a fractional wall clock (performance.now style)', () => {
    const clock = createHybridClock({ now: () => T0 + 0.9 });
    expect(clock.stamp()).toBe(writeTimeFromMs(T0));
  });

  it('does not go backwards when the wall clock jumps back', () => {
    const { wall, now } = manualWall();
    const clock = createHybridClock({ now });
    const before = clock.stamp();
    wall.ms = T0 - 60_000;
    const after = clock.stamp();
    expect(after).toBe(before + 1);
    expect(msOfWriteTime(after)).toBe(T0);
  });

  it('keeps counting when the wall clock is broken', () => {
    const clock = createHybridClock({ now: () => Number.NaN, state: { last: 42, offsetMs: 0 } });
    expect(clock.stamp()).toBe(43);
    expect(clock.stamp()).toBe(44);
    const negative = createHybridClock({ now: () => -5 });
    expect(negative.stamp()).toBe(1);
  });

  it('throws rather than leave the safe integer range', () => {
    const clock = createHybridClock({
      now: () => 0,
      state: { last: Number.MAX_SAFE_INTEGER, offsetMs: 0 },
    });
    expect(() => clock.stamp()).toThrow(CarburetorError);
  });
});

describe('createHybridClock: observe', () => {
  it('stamps above a time observed from the future', () => {
    const clock = createHybridClock({ now: () => T0 });
    const remote = writeTimeFromMs(T0 + 10_000, 7);
    clock.observe(remote);
    expect(clock.stamp()).toBe(remote + 1);
  });

  it('ignores an observed time in the past', () => {
    const clock = createHybridClock({ now: () => T0 });
    clock.observe(writeTimeFromMs(T0 - 10_000));
    expect(clock.stamp()).toBe(writeTimeFromMs(T0));
  });

  it('stamps above an observed time at the same millisecond', () => {
    const clock = createHybridClock({ now: () => T0 });
    clock.observe(writeTimeFromMs(T0, 500));
    expect(clock.stamp()).toBe(writeTimeFromMs(T0, 501));
  });

  it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])('refuses to observe %d', (t) => {
    const clock = createHybridClock({ now: () => T0 });
    expect(() => clock.observe(t)).toThrow(CarburetorError);
    expect(clock.state().last).toBe(0);
  });
});

describe('createHybridClock: observeServerTime', () => {
  it('learns the offset from the round trip midpoint', () => {
    // The device is 1 hour behind the server.
    const { wall, now } = manualWall(T0 - 3_600_000);
    const clock = createHybridClock({ now });
    clock.observeServerTime(T0 + 50, T0 - 3_600_000, T0 - 3_600_000 + 100);
    expect(clock.offsetMs).toBe(3_600_000);
    wall.ms = T0 - 3_600_000 + 1_000;
    expect(msOfWriteTime(clock.stamp())).toBe(T0 + 1_000);
  });

  it('lets a device with a fast clock stamp near server time once it has stamped past it', () => {
    const { wall, now } = manualWall(T0 + 10_000);
    const clock = createHybridClock({ now });
    clock.observeServerTime(T0, T0 + 10_000, T0 + 10_000);
    expect(clock.offsetMs).toBe(-10_000);
    wall.ms = T0 + 10_500;
    expect(msOfWriteTime(clock.stamp())).toBe(T0 + 500);
  });

  it('stays monotonic when a new offset moves time back', () => {
    const { now } = manualWall(T0);
    const clock = createHybridClock({ now });
    const before = clock.stamp();
    clock.observeServerTime(T0 - 60_000, T0, T0);
    expect(clock.offsetMs).toBe(-60_000);
    expect(clock.stamp()).toBe(before + 1);
  });

  it('observes the server time itself, so it is never behind it', () => {
    const clock = createHybridClock({ now: () => T0 });
    // A slow round trip: the midpoint lags the server's reading.
    clock.observeServerTime(T0 + 20, T0 - 1_000, T0);
    expect(clock.offsetMs).toBe(520);
    expect(clock.state().last).toBe(writeTimeFromMs(T0 + 20));
    expect(clock.stamp()).toBeGreaterThan(writeTimeFromMs(T0 + 20));
  });

  it('accepts a fractional server time and rounds the offset', () => {
    const clock = createHybridClock({ now: () => T0 });
    clock.observeServerTime(T0 + 10.7, T0, T0 + 1);
    expect(clock.offsetMs).toBe(10);
    expect(clock.state().last).toBe(writeTimeFromMs(T0 + 10));
  });

  it('never stores -0 as the offset', () => {
    const clock = createHybridClock({ now: () => T0 });
    clock.observeServerTime(T0, T0, T0 + 1);
    expect(Object.is(clock.offsetMs, 0)).toBe(true);
  });

  it.each([
    [Number.NaN, T0, T0],
    [T0, Number.NaN, T0],
    [T0, T0, Number.POSITIVE_INFINITY],
    [-1, T0, T0],
  ])('refuses server time %d with round trip %d..%d', (server, sent, received) => {
    const clock = createHybridClock({ now: () => T0 });
    expect(() => clock.observeServerTime(server, sent, received)).toThrow(CarburetorError);
    expect(clock.offsetMs).toBe(0);
  });
});

describe('createHybridClock: state', () => {
  it('is JSON-serializable and restores to continue above', () => {
    const clock = createHybridClock({ now: () => T0 });
    clock.observeServerTime(T0 + 5_000, T0, T0);
    const last = clock.stamp();
    const saved = JSON.parse(JSON.stringify(clock.state()));
    expect(saved).toEqual({ last, offsetMs: 5_000, seen: writeTimeFromMs(T0 + 5_000) });
    // After a restart the wall clock is behind where we were.
    const restored = createHybridClock({ now: () => T0 - 100_000, state: saved });
    expect(restored.offsetMs).toBe(5_000);
    expect(restored.stamp()).toBe(last + 1);
  });

  it('returns a snapshot, not a live view', () => {
    const clock = createHybridClock({ now: () => T0 });
    const state = clock.state();
    clock.stamp();
    expect(state.last).toBe(0);
    state.last = 5;
    expect(clock.state().last).toBe(writeTimeFromMs(T0));
  });

  it('starts with no history and no offset', () => {
    expect(createHybridClock({ now: () => T0 }).state()).toEqual({ last: 0, offsetMs: 0, seen: 0 });
  });

  it('uses Date.now by default', () => {
    const before = Date.now();
    const t = createHybridClock().stamp();
    expect(msOfWriteTime(t)).toBeGreaterThanOrEqual(before);
    expect(msOfWriteTime(t)).toBeLessThanOrEqual(Date.now());
  });

  it.each([
    [{ last: -1, offsetMs: 0 }],
    [{ last: 1.5, offsetMs: 0 }],
    [{ last: 0, offsetMs: Number.NaN }],
    [{ last: '5', offsetMs: 0 }],
    [{ last: 0, offsetMs: null }],
  ])('refuses the invalid state %j', (state) => {
    expect(() => createHybridClock({ state: state as never })).toThrow(CarburetorError);
  });
});

type Op =
  | { kind: 'stamp' }
  | { kind: 'wall'; ms: number }
  | { kind: 'observe'; t: number }
  | { kind: 'server'; serverMs: number; sent: number; rtt: number };

// Small ranges around T0 so jumps back, equal milliseconds and counter
// rollovers all happen.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Op>({ kind: 'stamp' }) },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: -3, max: 3 })
      .map<Op>((d) => ({ kind: 'wall', ms: T0 + d * 1000 })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: -5_000, max: 5_000 }), fc.integer({ min: 0, max: 999 }))
      .map<Op>(([d, counter]) => ({ kind: 'observe', t: writeTimeFromMs(T0 + d, counter) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.integer({ min: -3_000, max: 3_000 }),
        fc.integer({ min: 0, max: 2_000 }),
      )
      .map<Op>(([d, sent, rtt]) => ({ kind: 'server', serverMs: T0 + d, sent: T0 + sent, rtt })),
  },
);

describe('createHybridClock: properties', () => {
  it('never goes backwards and never stamps at or below anything it has seen', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), fc.boolean(), (ops, restartMidway) => {
        const { wall, now } = manualWall();
        let clock = createHybridClock({ now });
        let highest = 0; // every time returned or observed so far
        ops.forEach((op, i) => {
          if (restartMidway && i === Math.floor(ops.length / 2)) {
            clock = createHybridClock({ now, state: JSON.parse(JSON.stringify(clock.state())) });
          }
          switch (op.kind) {
            case 'stamp': {
              const t = clock.stamp();
              expect(Number.isSafeInteger(t)).toBe(true);
              expect(t).toBeGreaterThan(highest);
              // The definition: physical part max(wall + offset, last), counter
              // bumped (and rolled over) when that does not advance.
              expect(t).toBe(
                Math.max(writeTimeFromMs(Math.floor(wall.ms + clock.offsetMs)), highest + 1),
              );
              highest = t;
              break;
            }
            case 'wall':
              wall.ms = op.ms;
              break;
            case 'observe':
              clock.observe(op.t);
              highest = Math.max(highest, op.t);
              break;
            case 'server':
              clock.observeServerTime(op.serverMs, op.sent, op.sent + op.rtt);
              // `+ 0`: Math.round(-0.5) is -0, the same offset as the clock's 0 (toBe tells them apart).
              expect(clock.offsetMs).toBe(
                Math.round(op.serverMs - (op.sent + op.sent + op.rtt) / 2) + 0,
              );
              highest = Math.max(highest, writeTimeFromMs(op.serverMs));
              break;
          }
        });
      }),
      RUNS,
    );
  });

  it('stamps the wall clock plus offset whenever that is ahead of everything seen', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: -1_000_000, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        (lastMs, offsetMs, ahead) => {
          const last = writeTimeFromMs(T0 + lastMs, 999);
          const wallMs = T0 + lastMs - offsetMs + ahead;
          const clock = createHybridClock({ now: () => wallMs, state: { last, offsetMs } });
          expect(clock.stamp()).toBe(writeTimeFromMs(T0 + lastMs + ahead));
        },
      ),
      RUNS,
    );
  });

  it('restored from state() it continues above every stamp of the previous run', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -2_000, max: 2_000 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: -1_000_000, max: 1_000_000 }),
        fc.integer({ min: -100_000, max: 100_000 }),
        (walls, offset, restartWall) => {
          const { wall, now } = manualWall();
          const first = createHybridClock({ now });
          first.observeServerTime(T0 + offset, T0, T0);
          let max = 0;
          for (const w of walls) {
            wall.ms = T0 + w;
            max = Math.max(max, first.stamp());
          }
          const saved = JSON.stringify(first.state());
          const second = createHybridClock({
            now: () => T0 + restartWall,
            state: JSON.parse(saved),
          });
          expect(second.offsetMs).toBe(first.offsetMs);
          const a = second.stamp();
          const b = second.stamp();
          expect(a).toBeGreaterThan(max);
          expect(b).toBeGreaterThan(a);
        },
      ),
      RUNS,
    );
  });
});

describe('createHybridClock: rebase after clock_skew', () => {
  const DAY = 86_400_000;
  const T0 = 1_764_000_000_000;

  it('a clock a day ahead comes back to server time, above everything observed', () => {
    let wall = T0 + DAY;
    const clock = createHybridClock({ now: () => wall });
    const future = clock.stamp();
    const remote = writeTimeFromMs(T0 - 5, 7);
    clock.observe(remote);
    clock.rebase(T0, T0 + DAY - 10, T0 + DAY + 10);
    expect(clock.offsetMs).toBe(-DAY);
    const next = clock.stamp();
    expect(next).toBeLessThan(future);
    expect(next).toBeGreaterThan(remote);
    expect(Math.abs(next / 1000 - T0)).toBeLessThan(1_000);
    wall += 1;
    expect(clock.stamp()).toBeGreaterThan(next);
  });

  it('never drops below a time observed from elsewhere', () => {
    const clock = createHybridClock({ now: () => T0 + DAY });
    const remote = writeTimeFromMs(T0 + 5_000);
    clock.observe(remote);
    clock.stamp();
    clock.rebase(T0, T0 + DAY, T0 + DAY);
    expect(clock.stamp()).toBeGreaterThan(remote);
  });

  it('keeps what it has seen across a saved state', () => {
    const clock = createHybridClock({ now: () => T0 });
    clock.observe(writeTimeFromMs(T0 + 3_000));
    const restored = createHybridClock({ now: () => T0, state: clock.state() });
    restored.rebase(T0, T0, T0);
    expect(restored.stamp()).toBeGreaterThan(writeTimeFromMs(T0 + 3_000));
  });
});
