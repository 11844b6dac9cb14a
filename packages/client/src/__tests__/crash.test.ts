import { sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import { deleteMemoryStore, memoryDriver } from '../node/index.ts';
import { FaultyNetwork, openFaultyClient, type ReplicaRow, replicaRows } from './fault-fetch.ts';
import { startSyncServer } from './sync-harness.ts';

// A replica closed abruptly in the middle of a sync loses no write and
// converges once reopened (sync-semantics.md §2: a write is fully there or
// not at all; §4: a page is applied in one transaction with its cursor).

const harness = await startSyncServer('client-crash');
afterAll(() => harness.stop());

let counter = 0;
const unique = (label: string) => `crash-${label}-${++counter}`;

const contact = (owner: string, name: string) => ({ owner_id: owner, name, phone_number: '1' });

async function open(user: string, store: string, extra: { crashAfterWrites?: number } = {}) {
  const network = new FaultyNetwork();
  const client = await openFaultyClient({
    url: harness.url,
    user,
    groups: ['private_contacts'],
    store,
    network,
    pageSize: 5,
    ...extra,
  });
  return { ...client, network };
}

/** A column written locally and not yet acknowledged: it must survive any crash. */
interface PendingWrite {
  id: string;
  column: string;
  value: unknown;
  t: number;
  c: string;
}

function pendingWrites(rows: readonly ReplicaRow[]): PendingWrite[] {
  const out: PendingWrite[] = [];
  for (const row of rows) {
    for (const [column, stamp] of Object.entries(row.meta)) {
      if (stamp.d !== 1) continue;
      out.push({
        id: row.id,
        column,
        value: row[column as keyof ReplicaRow],
        t: stamp.t,
        c: stamp.c,
      });
    }
  }
  return out;
}

async function serverRows(user: string) {
  const { rows } = await sql<Record<string, unknown>>`
    select * from phone_books where owner_id = ${user} order by id`.execute(harness.db);
  return new Map(rows.map((r) => [String(r['id']), r]));
}

/** Every pending write is still in the replica: same value and stamp, still dirty or acknowledged by the server. */
async function expectNoWriteLost(
  rows: readonly ReplicaRow[],
  pending: readonly PendingWrite[],
  user: string,
): Promise<{ acknowledged: number }> {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const server = await serverRows(user);
  let acknowledged = 0;
  for (const w of pending) {
    const row = byId.get(w.id);
    expect(row, `row ${w.id} survives`).toBeDefined();
    expect(row![w.column as keyof ReplicaRow], `${w.id}.${w.column}`).toEqual(w.value);
    const stamp = row!.meta[w.column];
    expect({ t: stamp?.t, c: stamp?.c }).toEqual({ t: w.t, c: w.c });
    if (stamp?.d !== 1) {
      // Acknowledged: then the server holds it.
      acknowledged++;
      const stored = server.get(w.id);
      expect(stored?.[w.column], `server ${w.id}.${w.column}`).toEqual(w.value);
      expect(
        (stored?.['sync_metadata'] as Record<string, unknown> | undefined)?.[w.column],
      ).toEqual({
        t: w.t,
        c: w.c,
      });
    }
  }
  for (const row of rows) {
    const dirty = Object.values(row.meta).some((m) => m.d === 1);
    expect(row.dirty_flag !== null, `dirty flag of ${row.id} matches its dirty columns`).toBe(
      dirty,
    );
  }
  return { acknowledged };
}

/** After a completed sync: the replica holds exactly the user's live rows, equal to the server's, clean. */
async function expectEqualToServer(rows: readonly ReplicaRow[], user: string): Promise<void> {
  const server = await serverRows(user);
  const local = new Map(rows.map((r) => [r.id, r]));
  for (const [id, stored] of server) {
    if (stored['record_deleted'] === true) {
      if (local.has(id)) expect(local.get(id)!.record_deleted).toBe(true);
      continue;
    }
    const mine = local.get(id);
    expect(mine, `replica holds ${id}`).toBeDefined();
    for (const column of [
      'owner_id',
      'name',
      'phone_number',
      'note',
      'published',
      'record_deleted',
    ] as const) {
      expect(mine![column], `${id}.${column}`).toEqual(stored[column]);
    }
    expect(mine!.dirty_flag).toBeNull();
  }
  for (const id of local.keys()) expect(server.has(id), `${id} is on the server`).toBe(true);
}

/** A consistent copy of a closed memory store under a new name (VACUUM INTO goes through the same VFS). */
async function cloneStore(from: string, to: string): Promise<void> {
  const driver = memoryDriver({ name: from });
  await driver.execute(`VACUUM INTO '/${to}'`);
  await driver.close();
}

describe('a replica that crashes during a sync', () => {
  test('after the upload was applied but before its answer landed: nothing lost, still dirty, the retry is a no-op', async () => {
    const user = unique('user');
    const store = unique('store');
    const a = await open(user, store);
    const kept = await a.sync.insertPhoneBook({ ...contact(user, 'kept'), note: 'old' });
    const doomed = await a.sync.insertPhoneBook(contact(user, 'doomed'));
    await a.sync.sync();
    await a.sync.updatePhoneBook(kept.id, { note: null, name: 'renamed' });
    await a.sync.deletePhoneBook(doomed.id);
    const fresh = await a.sync.insertPhoneBook(contact(user, 'fresh'));
    const before = await replicaRows(a.driver);
    const pending = pendingWrites(before);
    expect(pending.length).toBe(3 + 6); // note+name, deleted flag, every synced column of the insert

    const held = a.network.hold('upload-response');
    const syncing = a.sync.sync().then(
      () => undefined,
      (error: unknown) => error,
    );
    await held.reached; // the server has applied the upload
    a.driver.crash();
    held.release();
    expect(await syncing).toMatchObject({ code: 'crashed' });
    await a.sync.close();
    const server = await serverRows(user);
    expect(server.get(kept.id)).toMatchObject({ name: 'renamed', note: null });
    expect(server.get(doomed.id)?.['record_deleted']).toBe(true);
    expect(server.get(fresh.id)?.['name']).toBe('fresh');

    const again = await open(user, store);
    const after = await replicaRows(again.driver);
    expect(after).toEqual(before); // values, stamps, dirty marks and flags: exactly as before the crash
    expect(after.find((r) => r.id === fresh.id)?.dirty_flag).toBe('insert');
    expect((await expectNoWriteLost(after, pending, user)).acknowledged).toBe(0);

    await again.sync.sync();
    expect(again.network.calls.upload).toBe(1);
    const settled = await replicaRows(again.driver);
    expect((await expectNoWriteLost(settled, pending, user)).acknowledged).toBe(pending.length);
    await expectEqualToServer(settled, user);
    const retried = await serverRows(user);
    expect(retried.size).toBe(3);
    // The retried insert merged into the stored row: same stamps as the first time.
    expect(retried.get(fresh.id)?.['sync_metadata']).toEqual(
      server.get(fresh.id)?.['sync_metadata'],
    );
    expect(await again.sync.rejected()).toEqual([]);
    await again.sync.close();
    deleteMemoryStore(store);
  });

  test('at every file write of a sync (upload answer, each download page): nothing lost, the cursor never runs ahead, converges after reopening', async () => {
    const user = unique('user');
    const writerStore = unique('writer');
    const base = unique('base');
    const writer = await open(user, writerStore);
    const reader = await open(user, base);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push((await writer.sync.insertPhoneBook(contact(user, `row ${i}`))).id);
    await writer.sync.sync();
    await reader.sync.sync();
    // Changes waiting for the reader: 4 pages of 5 rows.
    for (let i = 0; i < 6; i++) await writer.sync.updatePhoneBook(ids[i]!, { name: `edited ${i}` });
    await writer.sync.deletePhoneBook(ids[6]!);
    for (let i = 0; i < 10; i++) await writer.sync.insertPhoneBook(contact(user, `later ${i}`));
    await writer.sync.sync();
    // The reader's own unsent work, on other rows.
    await reader.sync.updatePhoneBook(ids[8]!, { note: 'mine', published: true });
    await reader.sync.updatePhoneBook(ids[9]!, { note: null });
    await reader.sync.deletePhoneBook(ids[10]!);
    await reader.sync.insertPhoneBook({ ...contact(user, 'reader insert'), note: 'x' });
    const pending = pendingWrites(await replicaRows(reader.driver));
    await reader.sync.close();

    const seen = { crashes: 0, inUploadAnswer: 0, midDownload: 0, acknowledgedPartly: 0 };
    let completedAt: number | undefined;
    for (let writes = 1; writes < 400 && completedAt === undefined; writes++) {
      const store = unique('clone');
      await cloneStore(base, store);
      let crashy: Awaited<ReturnType<typeof open>> | undefined;
      try {
        crashy = await open(user, store, { crashAfterWrites: writes });
        await crashy.sync.sync();
        completedAt = writes;
      } catch (error) {
        if (!(crashy?.driver ?? (error as { driver?: { crashed: boolean } }).driver)?.crashed)
          throw error;
        seen.crashes++;
      }
      const calls = crashy ? { ...crashy.network.calls } : { upload: 0, download: 0 };
      await crashy?.sync.close();

      const reopened = await open(user, store);
      const rows = await replicaRows(reopened.driver);
      const { acknowledged } = await expectNoWriteLost(rows, pending, user);
      if (completedAt === undefined) {
        // Between receiving an answer and the next request the only file writes are that
        // answer's transaction: a crash there hit the acknowledgement or the page being applied.
        if (calls.upload === 1 && calls.download === 0) seen.inUploadAnswer++;
        if (calls.download >= 1) seen.midDownload++;
        if (acknowledged > 0 && acknowledged < pending.length) seen.acknowledgedPartly++;
      }
      await reopened.sync.sync();
      const settled = await replicaRows(reopened.driver);
      await expectNoWriteLost(settled, pending, user);
      expect(Object.values(settled).every((r) => r.dirty_flag === null)).toBe(true);
      await expectEqualToServer(settled, user);
      await reopened.sync.close();
      deleteMemoryStore(store);
    }
    expect(completedAt, 'the sweep reached a sync that completes').toBeDefined();
    expect(seen.inUploadAnswer).toBeGreaterThan(0);
    expect(seen.midDownload).toBeGreaterThan(0);
    console.info(`crash sweep: a crash after each of ${completedAt! - 1} file writes`, seen);
    await writer.sync.close();
    deleteMemoryStore(base);
    deleteMemoryStore(writerStore);
  }, 120_000);
});
