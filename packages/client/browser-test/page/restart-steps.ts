// For a browser started without WebDriver (WebKitGTK quit and started again
// on the same data, webkit.test.ts): `?step=write` or `?step=read` runs one
// step on the IndexedDB-backed replica `restart` and POSTs the outcome, as
// JSON, to /trpc/report on the test's server.
import { opfsDriver } from '@carburetor/client/browser';

export async function runRestartStep(step: string): Promise<void> {
  let outcome: unknown;
  try {
    const driver = opfsDriver({ name: 'restart', fallback: 'indexeddb' });
    if (step === 'write') {
      await driver.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
      await driver.executeBatch(
        [
          { sql: 'INSERT INTO t (body) VALUES (?)', params: ['first'] },
          { sql: 'INSERT INTO t (body) VALUES (?)', params: [`O'Brien – 🚀`] },
        ],
        { transaction: true },
      );
    }
    const { rows } = await driver.execute('SELECT id, body FROM t ORDER BY id');
    outcome = { step, storage: driver.storage, rows };
  } catch (error) {
    outcome = {
      step,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
  }
  await fetch('/trpc/report', { method: 'POST', body: JSON.stringify(outcome) });
}
