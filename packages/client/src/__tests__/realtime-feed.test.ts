import { afterEach, expect, test, vi } from 'vitest';
import { RealtimeFeed } from '../sync/realtime-feed.ts';
import type { ChangesObserver, SyncTransport } from '../sync/transport.ts';

afterEach(() => {
  vi.useRealTimers();
});

// Regression: a transport that reported the drop before returning left the
// feed holding a stale close function, and every later retry returned early.
test('a subscription that fails while it opens is reopened after the backoff', () => {
  vi.useFakeTimers();
  const attempts: ChangesObserver[] = [];
  let failNext = true;
  const transport = {
    changes(_group: string, observer: ChangesObserver) {
      attempts.push(observer);
      if (failNext) {
        failNext = false;
        observer.dropped(new Error('refused at once'), false);
      }
      return () => undefined;
    },
  } as unknown as SyncTransport;
  const live: boolean[] = [];
  const feed = new RealtimeFeed({
    transport,
    groups: ['g'],
    poked: () => undefined,
    liveChanged: (value) => live.push(value),
    options: { backoff: { baseMs: 100, maxMs: 100 }, onError: () => undefined },
    random: () => 0.5,
  });
  feed.setActive(true);
  expect(attempts).toHaveLength(1);
  vi.advanceTimersByTime(200);
  expect(attempts).toHaveLength(2);
  attempts[1]!.poke(['t']);
  expect(feed.live).toBe(true);
  feed.setActive(false);
  expect(vi.getTimerCount()).toBe(0);
});
