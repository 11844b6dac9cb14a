import { CarburetorError } from '../errors.ts';
import { isValidWriteTime, msOfWriteTime, writeTimeFromMs } from './stamp.ts';

/**
 * What a replica persists of its clock: the last write time it returned or
 * observed, and the offset learned from the server. JSON-serializable.
 */
export type ClockState = {
  last: number;
  offsetMs: number;
  /** The greatest write time observed from elsewhere (absent in states saved before it existed). */
  seen?: number;
};

/** Options of {@link createHybridClock}. */
export type HybridClockOptions = {
  /** The wall clock in milliseconds. Defaults to `Date.now`. */
  now?: () => number;
  /** A state saved by {@link HybridClock.state}, to continue above it. */
  state?: ClockState;
};

/** A hybrid logical clock. Create one with {@link createHybridClock}. */
export type HybridClock = {
  /** A new write time, strictly above every time returned or observed before. */
  stamp(): number;
  /** Records a write time seen elsewhere, so later stamps are above it. */
  observe(t: number): void;
  /**
   * Learns the offset between this device's wall clock and the server's from
   * one round trip, and observes the server time.
   */
  observeServerTime(serverMs: number, sentAtLocalMs: number, receivedAtLocalMs: number): void;
  /**
   * Corrects a clock that ran ahead of the server (the server refused its
   * times with `clock_skew`): learns the offset like `observeServerTime`,
   * then moves the clock back to the later of server time and the greatest
   * time observed from elsewhere. The only way the clock goes back: the
   * times it drops were refused, so no replica holds them.
   */
  rebase(serverMs: number, sentAtLocalMs: number, receivedAtLocalMs: number): void;
  /** Milliseconds added to the wall clock to approximate server time. */
  readonly offsetMs: number;
  /** A snapshot to persist; pass it back as `options.state` after a restart. */
  state(): ClockState;
};

function invalid(message: string): CarburetorError {
  return new CarburetorError('invalid_value', message);
}

/**
 * Creates a hybrid logical clock: physical milliseconds (wall clock plus the
 * server offset) and a counter, encoded as one write time. It never goes
 * backwards, even when the wall clock or the offset jumps back, because every
 * stamp is at least one above the last time returned or observed.
 *
 * @throws {CarburetorError} `invalid_value` if `options.state` is not a valid
 * clock state.
 * @example
 * ```ts
 * const clock = createHybridClock({ state: JSON.parse(saved) });
 * clock.observeServerTime(response.serverTime, sentAt, Date.now());
 * const t = clock.stamp();
 * save(JSON.stringify(clock.state()));
 * ```
 */
export function createHybridClock(options: HybridClockOptions = {}): HybridClock {
  const now = options.now ?? Date.now;
  let last = 0;
  let seen = 0;
  let offsetMs = 0;
  if (options.state !== undefined) {
    const { last: savedLast, offsetMs: savedOffset } = options.state;
    if (!isValidWriteTime(savedLast)) {
      throw invalid(`Clock state 'last' ${String(savedLast)} is not a valid write time.`);
    }
    if (typeof savedOffset !== 'number' || !Number.isFinite(savedOffset)) {
      throw invalid(`Clock state 'offsetMs' ${String(savedOffset)} is not a finite number.`);
    }
    last = savedLast;
    seen = isValidWriteTime(options.state.seen) ? options.state.seen : 0;
    offsetMs = Math.round(savedOffset) || 0;
  }

  function observe(t: number): void {
    if (!isValidWriteTime(t)) {
      throw invalid(`Cannot observe write time ${String(t)}: not a non-negative safe integer.`);
    }
    if (t > last) last = t;
    if (t > seen) seen = t;
  }

  function learnOffset(serverMs: number, sentAtLocalMs: number, receivedAtLocalMs: number): number {
    if (
      !Number.isFinite(serverMs) ||
      !Number.isFinite(sentAtLocalMs) ||
      !Number.isFinite(receivedAtLocalMs)
    ) {
      throw invalid(
        `Server time ${serverMs} and round trip times ${sentAtLocalMs}, ${receivedAtLocalMs} must be finite numbers.`,
      );
    }
    const serverWriteTime = writeTimeFromMs(Math.floor(serverMs));
    // The server read its clock somewhere during the round trip; the
    // midpoint halves the worst-case error. `|| 0` keeps -0 out of the state.
    offsetMs = Math.round(serverMs - (sentAtLocalMs + receivedAtLocalMs) / 2) || 0;
    return serverWriteTime;
  }

  return {
    stamp(): number {
      const wall = Math.floor(now() + offsetMs);
      // A broken or negative wall clock gives no information; the counter
      // alone still keeps stamps increasing.
      const fromWall =
        Number.isFinite(wall) && wall > msOfWriteTime(last) ? writeTimeFromMs(wall) : 0;
      // last + 1 is "counter + 1", and rolls over into the next millisecond
      // when the counter would pass 999.
      const t = Math.max(fromWall, last + 1);
      if (!Number.isSafeInteger(t)) {
        throw invalid(`The hybrid clock is exhausted: ${t} is beyond the safe integer range.`);
      }
      last = t;
      return t;
    },
    observe,
    observeServerTime(serverMs: number, sentAtLocalMs: number, receivedAtLocalMs: number): void {
      observe(learnOffset(serverMs, sentAtLocalMs, receivedAtLocalMs));
    },
    rebase(serverMs: number, sentAtLocalMs: number, receivedAtLocalMs: number): void {
      const serverWriteTime = learnOffset(serverMs, sentAtLocalMs, receivedAtLocalMs);
      last = Math.max(seen, serverWriteTime);
      if (serverWriteTime > seen) seen = serverWriteTime;
    },
    get offsetMs(): number {
      return offsetMs;
    },
    state(): ClockState {
      return { last, offsetMs, seen };
    },
  };
}
