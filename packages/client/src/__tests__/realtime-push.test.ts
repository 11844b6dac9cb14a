import { type ChangesEvent, PROTOCOL_VERSION } from '@carburetor/core';
import { createTRPCClient, httpSubscriptionLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { EventSource } from 'eventsource';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import { startSyncServer } from './sync-harness.ts';

// Issue 23 from the client: pushed rows apply without a download, a gap
// falls back to a download, the writer does not download its own write, and
// replicas converge whatever happens to the pushes.

const harness = await startSyncServer('client-realtime-push');
afterAll(() => harness.stop());

const HOUR = 3_600_000;
const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let serial = 0;
const userOf = (what: string) => `push-${what}-${++serial}`;

async function until(done: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

const names = async (device: Awaited<ReturnType<typeof harness.client>>) =>
  (await device.sync.activePhoneBooks().orderBy('name').execute()).map((r) => r.name);

/** A device with the loop started (an hour's interval: what it gets comes by realtime). */
async function live(user: string, groups?: ('private_contacts' | 'directory')[]) {
  const device = await harness.client(user, groups ? { groups } : {});
  device.sync.start({ intervalMs: HOUR, debounceMs: 0 });
  await until(() => device.sync.status.live, 'realtime to be live');
  await until(() => device.sync.status.lastSyncedAt !== null, 'the first sync');
  return device;
}

/** The events of `private_contacts.changes` for `user`, as a protocol 2 client gets them. */
function record(user: string) {
  const events: ChangesEvent[] = [];
  const trpc = createTRPCClient<AnyRouter>({
    links: [
      httpSubscriptionLink({
        url: harness.url,
        EventSource,
        eventSourceOptions: {
          fetch: (input, init) =>
            fetch(input, { ...init, headers: { ...init.headers, 'x-user': user } }),
        },
      }),
    ],
  });
  const subscription = (
    trpc as unknown as {
      private_contacts: {
        changes: {
          subscribe(
            input: unknown,
            handlers: { onData(event: ChangesEvent): void },
          ): { unsubscribe(): void };
        };
      };
    }
  ).private_contacts.changes.subscribe(
    { protocol: PROTOCOL_VERSION },
    { onData: (event) => events.push(event) },
  );
  return { events, close: () => subscription.unsubscribe() };
}

describe('pushed pages', () => {
  test("B gets A's write from the push, with no download; A uploads it and downloads nothing", async () => {
    const user = userOf('ab');
    const a = await live(user);
    const b = await live(user);
    // The scope's first change starts its chain: a poke, B downloads this one.
    await a.sync.insertPhoneBook(contact(user, 'starts the chain'));
    await until(async () => (await names(b)).includes('starts the chain'), 'the first row on B');
    await sleep(100);

    const before = { a: { ...a.gates.calls }, b: { ...b.gates.calls } };
    await a.sync.insertPhoneBook(contact(user, 'pushed'));
    await until(async () => (await names(b)).includes('pushed'), 'the pushed row on B');
    await until(() => a.sync.status.pendingCount === 0, 'A to upload');
    await sleep(200);
    expect(b.gates.calls.download).toBe(before.b.download);
    expect(a.gates.calls.upload).toBe(before.a.upload + 1);
    expect(a.gates.calls.download).toBe(before.a.download);
    expect(
      await harness.serverRow(
        (await a.sync.activePhoneBooks().where('name', '=', 'pushed').executeTakeFirstOrThrow()).id,
      ),
    ).toBeDefined();
    // The inspector's log shows the push.
    expect(b.sync.recentActivity().some((entry) => entry.kind === 'push' && entry.rows === 1)).toBe(
      true,
    );
    // The app's own sync() still downloads.
    await a.sync.sync();
    expect(a.gates.calls.download).toBeGreaterThan(before.a.download);
    await a.sync.stop();
    await b.sync.stop();
  });

  test('a writer syncing two groups downloads neither after its upload once both push', async () => {
    const user = userOf('two');
    const a = await live(user, ['private_contacts', 'directory']);
    const b = await live(user, ['private_contacts', 'directory']);
    // Published: the change is in both groups' scopes, and starts both chains.
    await a.sync.insertPhoneBook({ ...contact(user, 'starts both'), published: true });
    await until(async () => (await names(b)).includes('starts both'), 'the first row on B');
    await sleep(150);
    const before = { ...a.gates.calls };
    await a.sync.insertPhoneBook({ ...contact(user, 'pushed to both'), published: true });
    await until(async () => (await names(b)).includes('pushed to both'), 'the pushed row on B');
    await until(() => a.sync.status.pendingCount === 0, 'A to upload');
    await sleep(200);
    expect(a.gates.calls.upload).toBe(before.upload + 1);
    expect(a.gates.calls.download).toBe(before.download);
    await a.sync.stop();
    await b.sync.stop();
  });

  test('pushes lost, repeated, reordered or late: a gap is downloaded, and the replica ends as the server', async () => {
    // Over all runs, pages must have been applied and gaps met: else the property proved nothing.
    const seen = { applied: 0, gaps: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 5 }),
        fc.array(fc.nat(), { minLength: 0, maxLength: 16 }),
        fc.array(fc.constantFrom('drop', 'dup', 'swap', 'keep'), { minLength: 8, maxLength: 8 }),
        async (writes, order, faults) => {
          const user = userOf('prop');
          const writer = await harness.client(user, { realtime: false });
          const reader = await harness.client(user, { realtime: false });
          await reader.internals.download('private_contacts');
          const feed = record(user);
          await until(() => feed.events.length >= 1, 'the listening event');
          for (let i = 0; i < writes; i++) {
            const at = feed.events.length;
            const row = await writer.sync.insertPhoneBook(contact(user, `w${i}`));
            if (i % 2 === 1) await writer.sync.updatePhoneBook(row.id, { note: `edited ${i}` });
            await writer.internals.upload('private_contacts');
            await until(() => feed.events.length > at, `the event of write ${i}`);
          }
          feed.close();
          // Perturb the sequence: drop, duplicate, swap with the next.
          const events = feed.events.slice(1);
          let deliveries: ChangesEvent[] = [];
          events.forEach((event, i) => {
            const fault = faults[i % faults.length];
            if (fault !== 'drop') deliveries.push(event);
            if (fault === 'dup') deliveries.push(event);
          });
          for (const [k, n] of order.entries()) {
            const i = n % Math.max(1, deliveries.length);
            if (faults[k % faults.length] === 'swap' && i + 1 < deliveries.length) {
              deliveries = [
                ...deliveries.slice(0, i),
                deliveries[i + 1]!,
                deliveries[i]!,
                ...deliveries.slice(i + 2),
              ];
            }
          }
          for (const event of deliveries) {
            const download = await reader.internals.applyPush('private_contacts', event.tables, {
              pages: event.pages ?? {},
              serverTime: event.serverTime,
            });
            const paged = Object.keys(event.pages ?? {}).length > 0;
            if (paged && download.length === 0) seen.applied++;
            if (paged && download.length > 0) seen.gaps++;
            if (download.length > 0) await reader.internals.download('private_contacts');
          }
          const server = async () =>
            (
              await sql<{ name: string; note: string | null }>`
                select name, note from phone_books where owner_id = ${user} order by name`.execute(
                harness.db,
              )
            ).rows;
          const replica = async () =>
            (await reader.sync.activePhoneBooks().orderBy('name').execute()).map((r) => ({
              name: r.name,
              note: r.note,
            }));
          // The newest event delivered: nothing older can take the replica back.
          if (deliveries.includes(events.at(-1)!)) expect(await replica()).toEqual(await server());
          await reader.internals.download('private_contacts');
          expect(await replica()).toEqual(await server());
        },
      ),
      { numRuns: Number(process.env['CARBURETOR_PUSH_RUNS'] ?? 12) },
    );
    expect(seen.applied).toBeGreaterThan(0);
    expect(seen.gaps).toBeGreaterThan(0);
  }, 120_000);

  test('a pushed page of a few rows is applied at once, with no turn of the event loop in between', async () => {
    const user = userOf('turn');
    const writer = await harness.client(user, { realtime: false });
    const reader = await harness.client(user, { realtime: false });
    const feed = record(user);
    await until(() => feed.events.length >= 1, 'the listening event');
    // The scope's first change starts its chain (no page): the reader downloads it.
    await writer.sync.insertPhoneBook(contact(user, 'starts the chain'));
    await writer.internals.upload('private_contacts');
    await until(() => feed.events.length >= 2, 'the first change');
    await reader.internals.download('private_contacts');
    await writer.sync.insertPhoneBook(contact(user, 'pushed'));
    await writer.internals.upload('private_contacts');
    await until(() => feed.events.length >= 3, 'the pushed page');
    feed.close();
    const event = feed.events[2]!;
    expect(Object.keys(event.pages ?? {})).toEqual(['phone_book']);

    // Node runs setImmediate callbacks at the next turn: none may come before the page is in.
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    const download = await reader.internals.applyPush('private_contacts', event.tables, {
      pages: event.pages!,
      serverTime: event.serverTime,
    });
    expect(turned).toBe(false);
    expect(download).toEqual([]);
    expect(await names(reader)).toContain('pushed');
  });
});
