import { afterEach, describe, expect, test } from 'vitest';
import { SqliteDriverError, type SqliteValue } from '../driver/sqlite-driver.ts';
import { deleteMemoryStore, type MemoryDriver, memoryDriver } from '../node/index.ts';
import { memoryImagePaths, readMemoryImage } from '../node/memory-vfs.ts';

const open: MemoryDriver[] = [];
const names: string[] = [];

function driver(options: Parameters<typeof memoryDriver>[0] = {}): MemoryDriver {
  const d = memoryDriver(options);
  open.push(d);
  if (options.name) names.push(options.name);
  return d;
}

afterEach(async () => {
  for (const d of open.splice(0)) if (!d.crashed) await d.close();
  for (const name of names.splice(0)) deleteMemoryStore(name);
});

async function count(d: MemoryDriver, table: string): Promise<SqliteValue | undefined> {
  const { rows } = await d.execute(`SELECT count(*) AS n FROM ${table}`);
  return rows[0]?.['n'];
}

describe('memoryDriver values', () => {
  const values: [string, SqliteValue][] = [
    ['null', null],
    ['zero', 0],
    ['negative int', -1],
    ['int32 max', 2_147_483_647],
    ['beyond int32', 2 ** 40],
    ['max safe integer', Number.MAX_SAFE_INTEGER],
    ['min safe integer', Number.MIN_SAFE_INTEGER],
    ['bigint beyond 2^53', 9007199254740993n],
    ['negative bigint beyond 2^53', -9007199254740993n],
    ['int64 max', 9223372036854775807n],
    ['int64 min', -9223372036854775808n],
    ['float', 1.5],
    ['negative float', -0.000123],
    ['huge float', 1e300],
    ['text', 'hello'],
    ['empty text', ''],
    ['quotes', `it's "quoted" '' \\ ;--`],
    ['unicode', 'Zoë – 日本語 – 🚀 – \u{1F469}\u{200D}\u{1F4BB}'],
    ['blob', new Uint8Array([0, 1, 2, 254, 255])],
    ['large blob', new Uint8Array(100_000).map((_, i) => i % 251)],
  ];

  test.each(values)('round-trips %s exactly', async (_label, value) => {
    const d = driver();
    await d.execute('CREATE TABLE v (x)'); // no affinity: values come back as stored
    await d.execute('INSERT INTO v (x) VALUES (?)', [value]);
    const { rows, columns } = await d.execute('SELECT x, typeof(x) AS t FROM v');
    expect(columns).toEqual(['x', 't']);
    const got = rows[0]?.['x'];
    if (value instanceof Uint8Array) {
      // Byte comparison: a deep equal of 100k elements takes a third of a second.
      expect(got).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(got as Uint8Array).equals(value)).toBe(true);
    } else {
      expect(got).toEqual(value);
    }
  });

  test('text of every size and width in one statement and one batch: the reused bind buffer grows and keeps each value whole', async () => {
    const d = driver();
    await d.execute('CREATE TABLE v (n INTEGER PRIMARY KEY, a, b, c)');
    const texts = [
      '',
      'a',
      '€'.repeat(50_000), // 150,000 bytes: past the buffer's first size
      'short after long',
      '🚀'.repeat(3),
      'x'.repeat(4_096),
      'é',
      // Short texts are copied byte by byte while ASCII: the copy must give way at any byte.
      'abc€def',
      'ascii, then 🚀',
      'z'.repeat(64),
      'y'.repeat(65),
      '\u007f',
    ];
    // Three texts in one statement: each bound copy must not see the next one's bytes.
    await d.executeBatch(
      texts.map((text, n) => ({
        sql: 'INSERT INTO v (n, a, b, c) VALUES (?, ?, ?, ?)',
        params: [n, text, `${text}|`, texts[(n + 1) % texts.length]!],
      })),
      { transaction: true },
    );
    const { rows } = await d.execute('SELECT a, b, c, length(a) AS len FROM v ORDER BY n');
    expect(rows.map((r) => [r['a'], r['b'], r['c']])).toEqual(
      texts.map((text, n) => [text, `${text}|`, texts[(n + 1) % texts.length]]),
    );
    expect(rows[2]?.['len']).toBe(50_000);
  });

  test('integers come back as number when safe and bigint when not', async () => {
    const d = driver();
    const { rows } = await d.execute(
      'SELECT 9007199254740991 AS safe, 9007199254740992 AS unsafe, -9007199254740992 AS low, 3000000000 AS big',
    );
    expect(rows[0]).toEqual({
      safe: 9007199254740991,
      unsafe: 9007199254740992n,
      low: -9007199254740992n,
      big: 3000000000,
    });
  });

  test('a safe integer beyond 32 bits is stored as INTEGER, not REAL', async () => {
    const d = driver();
    const { rows } = await d.execute('SELECT typeof(?) AS t', [2 ** 40]);
    expect(rows[0]?.['t']).toBe('integer');
  });

  test('an empty blob is a blob', async () => {
    const d = driver();
    const { rows } = await d.execute('SELECT typeof(?) AS t, length(?) AS n', [
      new Uint8Array(0),
      new Uint8Array(0),
    ]);
    expect(rows[0]).toEqual({ t: 'blob', n: 0 });
  });

  test('blobs are copies, not views of the wasm heap', async () => {
    const d = driver();
    const first = (await d.execute('SELECT ? AS b', [new Uint8Array([1, 2, 3])])).rows[0]?.['b'];
    await d.execute('SELECT ? AS b', [new Uint8Array([9, 9, 9])]);
    expect(first).toEqual(new Uint8Array([1, 2, 3]));
    expect((first as Uint8Array).buffer.byteLength).toBe(3);
  });

  test('results are structured-clonable', async () => {
    const d = driver();
    const result = await d.execute("SELECT 1 AS a, 9007199254740993 AS b, x'00ff' AS c");
    expect(structuredClone(result)).toEqual(result);
  });

  test('rejects a parameter SQLite cannot store, naming it', async () => {
    const d = driver();
    await expect(
      d.execute('SELECT ?', [new Date() as unknown as SqliteValue]),
    ).rejects.toMatchObject({
      code: 'invalid_parameter',
      message: expect.stringContaining('Date'),
    });
  });

  test('reports changes, lastInsertRowid, and no stale counts for DDL', async () => {
    const d = driver();
    await d.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = await d.execute('INSERT INTO t (v) VALUES (?), (?)', ['a', 'b']);
    expect(insert).toMatchObject({ changes: 2, lastInsertRowid: 2 });
    const ddl = await d.execute('CREATE INDEX t_v ON t (v)');
    expect(ddl.changes).toBe(0);
    const update = await d.execute('UPDATE t SET v = ? WHERE id = ?', ['c', 1]);
    expect(update.changes).toBe(1);
    const select = await d.execute('SELECT * FROM t');
    expect(select.changes).toBe(0);
    expect(select.lastInsertRowid).toBeUndefined();
  });

  test('runs a multi-statement script where later statements need earlier ones', async () => {
    const d = driver();
    await d.execute('CREATE TABLE a (x); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);');
    expect(await count(d, 'a')).toBe(2);
  });

  test('a re-prepared statement reports the new columns', async () => {
    const d = driver();
    await d.execute('CREATE TABLE t (a)');
    await d.execute('INSERT INTO t VALUES (1)');
    expect((await d.execute('SELECT * FROM t')).columns).toEqual(['a']);
    await d.execute('ALTER TABLE t ADD COLUMN b');
    const after = await d.execute('SELECT * FROM t');
    expect(after.columns).toEqual(['a', 'b']);
    expect(after.rows).toEqual([{ a: 1, b: null }]);
  });

  test('foreign keys are enforced', async () => {
    const d = driver();
    await d.execute('CREATE TABLE p (id INTEGER PRIMARY KEY)');
    await d.execute('CREATE TABLE c (p INTEGER REFERENCES p (id))');
    const error = await d.execute('INSERT INTO c VALUES (42)').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqliteDriverError);
    expect(error).toMatchObject({ code: 'sqlite', sqliteCode: 19 });
  });

  test('uses the rollback journal', async () => {
    const d = driver();
    expect((await d.execute('PRAGMA journal_mode')).rows[0]).toEqual({ journal_mode: 'delete' });
  });
});

describe('executeBatch', () => {
  test('returns one result per statement, in order', async () => {
    const d = driver();
    const results = await d.executeBatch([
      { sql: 'CREATE TABLE t (x)' },
      { sql: 'INSERT INTO t VALUES (?)', params: [1] },
      { sql: 'INSERT INTO t VALUES (?)', params: [2] },
      { sql: 'SELECT x FROM t ORDER BY x' },
    ]);
    expect(results).toHaveLength(4);
    expect(results[3]?.rows).toEqual([{ x: 1 }, { x: 2 }]);
  });

  test('with transaction, an error in the middle leaves nothing behind', async () => {
    const d = driver();
    await d.execute('CREATE TABLE t (x UNIQUE)');
    await d.execute('INSERT INTO t VALUES (0)');
    const error = await d
      .executeBatch(
        [
          { sql: 'INSERT INTO t VALUES (?)', params: [1] },
          { sql: 'INSERT INTO t VALUES (?)', params: [2] },
          { sql: 'INSERT INTO t VALUES (?)', params: [1] }, // unique violation
          { sql: 'INSERT INTO t VALUES (?)', params: [3] },
        ],
        { transaction: true },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'sqlite', sqliteCode: 19, statementIndex: 2 });
    expect((await d.execute('SELECT x FROM t')).rows).toEqual([{ x: 0 }]);
    // The connection is usable again, outside any transaction.
    await d.executeBatch([{ sql: 'INSERT INTO t VALUES (5)' }], { transaction: true });
    expect(await count(d, 't')).toBe(2);
  });

  test('without transaction, statements before the error stay', async () => {
    const d = driver();
    await d.execute('CREATE TABLE t (x UNIQUE)');
    await expect(
      d.executeBatch([
        { sql: 'INSERT INTO t VALUES (1)' },
        { sql: 'INSERT INTO t VALUES (1)' },
        { sql: 'INSERT INTO t VALUES (2)' },
      ]),
    ).rejects.toMatchObject({ statementIndex: 1 });
    expect(await count(d, 't')).toBe(1);
  });

  test('inside an open transaction it uses a savepoint', async () => {
    const d = driver();
    await d.execute('CREATE TABLE t (x UNIQUE)');
    await d.exclusive(async (tx) => {
      await tx.execute('BEGIN');
      await tx.execute('INSERT INTO t VALUES (1)');
      await expect(
        tx.executeBatch(
          [{ sql: 'INSERT INTO t VALUES (2)' }, { sql: 'INSERT INTO t VALUES (1)' }],
          { transaction: true },
        ),
      ).rejects.toThrow();
      await tx.executeBatch([{ sql: 'INSERT INTO t VALUES (3)' }], { transaction: true });
      await tx.execute('COMMIT');
    });
    expect((await d.execute('SELECT x FROM t ORDER BY x')).rows).toEqual([{ x: 1 }, { x: 3 }]);
  });

  test('direct calls wait for an exclusive section', async () => {
    const d = driver();
    await d.execute('CREATE TABLE t (x)');
    const order: string[] = [];
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const section = d.exclusive(async (tx) => {
      await tx.execute('BEGIN');
      await tx.execute('INSERT INTO t VALUES (1)');
      entered();
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push('section');
      await tx.execute('ROLLBACK');
    });
    await inside;
    const outside = d.execute('SELECT count(*) AS n FROM t').then((r) => {
      order.push('outside');
      return r.rows[0]?.['n'];
    });
    await section;
    expect(await outside).toBe(0); // never saw the uncommitted row
    expect(order).toEqual(['section', 'outside']);
  });
});

describe('crash and reopen', () => {
  test('a store survives a clean close and is reopened by name', async () => {
    const name = 'reopen-clean';
    const first = driver({ name });
    await first.execute('CREATE TABLE t (x)');
    await first.execute('INSERT INTO t VALUES (1)');
    await first.close();
    const second = driver({ name });
    expect(await count(second, 't')).toBe(1);
  });

  test('an unnamed store vanishes on close', async () => {
    const d = memoryDriver();
    await d.execute('CREATE TABLE t (x)');
    await d.close();
    expect(memoryImagePaths(`/${d.name}`)).toEqual([]);
  });

  test('a crash mid-transaction keeps only committed data', async () => {
    const name = 'crash-open-transaction';
    const first = driver({ name });
    await first.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await first.executeBatch(
      [1, 2, 3].map((id) => ({ sql: 'INSERT INTO t VALUES (?, ?)', params: [id, `v${id}`] })),
      { transaction: true },
    );
    await first.execute('BEGIN');
    await first.execute('INSERT INTO t VALUES (4, ?)', ['v4']);
    await first.execute('UPDATE t SET v = ? WHERE id = 1', ['changed']);
    await first.execute('DELETE FROM t WHERE id = 2');
    first.crash();
    await expect(first.execute('SELECT 1')).rejects.toMatchObject({ code: 'crashed' });

    const second = driver({ name });
    expect((await second.execute('SELECT * FROM t ORDER BY id')).rows).toEqual([
      { id: 1, v: 'v1' },
      { id: 2, v: 'v2' },
      { id: 3, v: 'v3' },
    ]);
    expect((await second.execute('PRAGMA integrity_check')).rows).toEqual([
      { integrity_check: 'ok' },
    ]);
  });

  test('the rollback journal undoes pages already spilled into the database image', async () => {
    const name = 'crash-spilled';
    const first = driver({ name });
    await first.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)');
    await first.executeBatch(
      Array.from({ length: 50 }, (_, id) => ({
        sql: 'INSERT INTO t VALUES (?, ?)',
        params: [id, new Uint8Array(2000).fill(1)],
      })),
      { transaction: true },
    );
    const committed = readMemoryImage(`/${name}`);
    // A tiny page cache forces SQLite to write changed pages into the
    // database file before COMMIT; only the journal can undo them.
    await first.execute('PRAGMA cache_size = 2');
    await first.execute('BEGIN');
    await first.execute('UPDATE t SET payload = ?', [new Uint8Array(2000).fill(7)]);
    await first.execute('INSERT INTO t SELECT id + 1000, payload FROM t');
    expect(readMemoryImage(`/${name}`)).not.toEqual(committed);
    expect(readMemoryImage(`/${name}-journal`)?.byteLength).toBeGreaterThan(0);
    first.crash();

    const second = driver({ name });
    expect(await count(second, 't')).toBe(50);
    const { rows } = await second.execute('SELECT count(*) AS n FROM t WHERE payload = ?', [
      new Uint8Array(2000).fill(1),
    ]);
    expect(rows[0]?.['n']).toBe(50);
    expect((await second.execute('PRAGMA integrity_check')).rows[0]?.['integrity_check']).toBe(
      'ok',
    );
    expect(readMemoryImage(`/${name}-journal`)).toBeUndefined(); // hot journal replayed
  });

  test('a crash after any write of a batch transaction leaves all or nothing', async () => {
    const name = 'crash-batch';
    const setup = driver({ name });
    await setup.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)');
    await setup.execute('INSERT INTO t VALUES (0, zeroblob(100))');
    await setup.close();

    const batch = [
      { sql: 'PRAGMA cache_size = 2' },
      ...Array.from({ length: 40 }, (_, i) => ({
        sql: 'INSERT INTO t VALUES (?, ?)',
        params: [i + 1, new Uint8Array(3000).fill(i)],
      })),
      { sql: 'UPDATE t SET payload = zeroblob(5000) WHERE id = 0' },
    ];
    let crashes = 0;
    for (let writes = 1; ; writes++) {
      const d = driver({ name, crashAfterWrites: writes });
      const outcome = await d.executeBatch(batch, { transaction: true }).then(
        () => 'done' as const,
        (e: unknown) => e,
      );
      const after = driver({ name });
      const n = await count(after, 't');
      expect((await after.execute('PRAGMA integrity_check')).rows[0]?.['integrity_check']).toBe(
        'ok',
      );
      if (outcome === 'done') {
        expect(n).toBe(41);
        break;
      }
      crashes++;
      expect(outcome).toMatchObject({ code: 'crashed' });
      expect(n).toBe(1);
      await after.close();
      if (!d.crashed) throw new Error('expected the driver to have crashed');
    }
    // Crashes landed mid-batch (pages spilled) and during COMMIT.
    expect(crashes).toBeGreaterThan(10);
  });

  test('a crash while another call waits fails that call with code crashed', async () => {
    const d = driver({ name: 'crash-waiting' });
    await d.execute('CREATE TABLE t (x)');
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const section = d.exclusive(async (tx) => {
      await tx.execute('BEGIN');
      entered();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await inside;
    const waiting = d.execute('INSERT INTO t VALUES (1)');
    d.crash();
    release();
    await section;
    await expect(waiting).rejects.toBeInstanceOf(SqliteDriverError);
    await expect(waiting).rejects.toMatchObject({ code: 'crashed' });
    await d.close(); // closing a crashed driver is a no-op
  });
});
