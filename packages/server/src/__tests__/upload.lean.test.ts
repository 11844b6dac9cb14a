import type { UploadResponse, UploadRow } from '@carburetor/core';
import { groupProtocol } from '@carburetor/core/schemas';
import { createTestDatabase } from '@carburetor/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgKysely } from '../driver/pg-dialect.ts';
import { migrateServer } from '../schema/migrate.ts';
import { uploadChanges } from '../upload/upload.ts';
import { at, cols, contactInsert, request, uploadConfig } from './upload-config.ts';

// Protocol 3 answers an upload lean (issue 25): per OK row only what the
// client does not hold already. Versions 1 and 2 get the whole row as before.

const database = await createTestDatabase('upload_lean');
const db = createPgKysely<unknown>(database.url);

beforeAll(async () => {
  await migrateServer(db, uploadConfig);
});

afterAll(async () => {
  await db.destroy();
  await database.drop();
});

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
let counter = 0;
const newId = (label: string) => `lean-${label}-${++counter}`;

const upload = (client: string, rows: UploadRow[], protocol: 1 | 2 | 3 = 3, user = 'u1') =>
  uploadChanges(db, uploadConfig, 'mine', request(client, { contact: rows }, protocol), {
    userId: user,
  });
const table = (response: UploadResponse) => response.tables['contact']!;
const update = (id: string, t: number, values: Record<string, unknown>): UploadRow => ({
  op: 'update',
  id,
  columns: cols(t, values),
});
const syncedAtOf = async (id: string) => {
  const { rows } = await sql<{
    s: string;
  }>`select to_char(last_synced_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as s from contacts where id = ${id}`.execute(
    db,
  );
  return rows[0]!.s;
};

describe('lean upload answers (protocol 3)', () => {
  it('answers inserts that won with their ids alone, and the time they were written once for the table', async () => {
    const ids = [newId('a'), newId('b'), newId('c')];
    const answer = table(
      await upload(
        'client-a',
        ids.map((id) => contactInsert(id, 'u1', at(0))),
      ),
    );
    expect(answer.results).toEqual(ids.map((id) => ({ id, ok: true })));
    expect(answer.syncedAt).toMatch(ISO);
    expect(answer.syncedAt).toBe(await syncedAtOf(ids[0]!));
    expect(
      groupProtocol(uploadConfig, 'mine').uploadResponse.safeParse({
        protocol: 3,
        serverTime: 1,
        tables: { contact: answer },
      }).success,
    ).toBe(true);
  });

  it("gives a losing write the winner's value and stamp, and nothing of the columns it won", async () => {
    const id = newId('lost');
    await upload('client-a', [contactInsert(id, 'u1', at(0))]);
    await upload('client-b', [update(id, at(30), { name: 'Newer' })]);
    const answer = table(
      await upload('client-c', [update(id, at(20), { name: 'Older', phone: '777' })]),
    );
    expect(answer.results).toEqual([
      { id, ok: true, others: { name: { value: 'Newer', t: at(30), c: 'client-b' } } },
    ]);
    // The same upload in version 2 answers the whole row: the lean answer says the same of name.
    const full = table(await upload('client-c', [update(id, at(20), { name: 'Older' })], 2));
    const [result] = full.results;
    expect(result?.ok && 'row' in result).toBe(true);
    if (result?.ok && 'row' in result) {
      const [, , metadata, ...values] = result.row;
      expect(values[full.columns.indexOf('name')]).toBe('Newer');
      expect(metadata['name']).toEqual({ t: at(30), c: 'client-b' });
      expect(values[full.columns.indexOf('phone')]).toBe('777');
    }
  });

  it('says an updated row is deleted when another write deleted it', async () => {
    const id = newId('deleted');
    await upload('client-a', [contactInsert(id, 'u1', at(0))]);
    await upload('client-b', [update(id, at(10), { is_deleted: true })]);
    const answer = table(await upload('client-a', [update(id, at(40), { name: 'Late edit' })]));
    expect(answer.results).toEqual([
      { id, ok: true, others: { is_deleted: { value: true, t: at(10), c: 'client-b' } } },
    ]);
    // Its own deletion is its own write: nothing to say.
    const own = newId('own-delete');
    await upload('client-a', [contactInsert(own, 'u1', at(0))]);
    const deleted = table(await upload('client-a', [update(own, at(5), { is_deleted: true })]));
    expect(deleted.results).toEqual([{ id: own, ok: true }]);
  });

  it('gives an insert the defaults the server filled in for columns it did not carry', async () => {
    const id = newId('defaults');
    const row = contactInsert(id, 'u1', at(0));
    delete row.columns['serial'];
    delete row.columns['published'];
    const answer = table(await upload('client-a', [row]));
    expect(answer.results).toEqual([
      {
        id,
        ok: true,
        others: {
          serial: { value: 'none', t: at(0), c: 'client-a' },
          published: { value: false, t: at(0), c: 'client-a' },
        },
      },
    ]);
  });

  it('a retried insert (no write) gives its own last-synced-at where it differs from the table’s', async () => {
    const retried = newId('retried');
    await upload('client-a', [contactInsert(retried, 'u1', at(0))]);
    const fresh = newId('fresh');
    const answer = table(
      await upload('client-a', [
        contactInsert(fresh, 'u1', at(0)),
        contactInsert(retried, 'u1', at(0)),
      ]),
    );
    expect(answer.syncedAt).toBe(await syncedAtOf(fresh));
    expect(answer.results).toEqual([
      { id: fresh, ok: true },
      { id: retried, ok: true, syncedAt: await syncedAtOf(retried) },
    ]);
    expect(answer.syncedAt).not.toBe(await syncedAtOf(retried));
  });

  it('refusals read as before', async () => {
    const answer = table(
      await upload('client-a', [update(newId('missing'), at(0), { name: 'x' })]),
    );
    expect(answer.results).toEqual([
      expect.objectContaining({ ok: false, code: 'record_not_found' }),
    ]);
    expect(answer).not.toHaveProperty('syncedAt');
  });

  it('versions 1 and 2 get the whole row of every OK row, as before', async () => {
    for (const protocol of [1, 2] as const) {
      const id = newId(`v${protocol}`);
      const response = await upload('client-a', [contactInsert(id, 'u1', at(0))], protocol);
      expect(response.protocol).toBe(protocol);
      const answer = table(response);
      expect(answer).not.toHaveProperty('syncedAt');
      const [result] = answer.results;
      expect(result).toMatchObject({ id, ok: true });
      const row = result?.ok && 'row' in result ? result.row : undefined;
      expect(row?.slice(0, 2)).toEqual([id, await syncedAtOf(id)]);
      expect(row?.slice(3)).toEqual(['u1', 'none', 'Ada', '555', null, false, false]);
    }
  });

  it('is a fraction of the full answer for a bulk insert (2,000 rows)', async () => {
    const rows = (label: string) =>
      Array.from({ length: 2_000 }, (_, i) =>
        contactInsert(newId(`${label}-${i}`), 'u1', at(0), {
          name: `Contact ${i}`,
          phone: `555-${i}`,
        }),
      );
    const sent = rows('bulk-v3');
    const requestBytes = JSON.stringify(request('client-a', { contact: sent })).length;
    const lean = JSON.stringify(await upload('client-a', sent)).length;
    const full = JSON.stringify(await upload('client-a', rows('bulk-v2'), 2)).length;
    console.info(
      `2,000 inserted rows: request ${requestBytes} B, answer v2 ${full} B, v3 ${lean} B`,
    );
    expect(lean).toBeLessThan(full / 4);
  });
});
