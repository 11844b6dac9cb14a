import type { ReadOnlyResult } from '@carburetor/client';
import { useEffect, useState } from 'react';
import type { InspectedClient } from './inspected-client.ts';
import { styles } from './styles.ts';

const TABLES =
  "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";

/** The replica's tables and a read-only query box (`client.queryReadOnly`: a write is refused). */
export function QuerySection({ client }: { client: InspectedClient }) {
  const [tables, setTables] = useState<string[]>([]);
  const [sql, setSql] = useState('');
  const [result, setResult] = useState<ReadOnlyResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    client.queryReadOnly(TABLES).then(
      (r) => setTables(r.rows.map((row) => String(row['name']))),
      (e: unknown) => setError(String((e as Error)?.message ?? e)),
    );
  }, [client]);

  const run = (text: string) => {
    setSql(text);
    client.queryReadOnly(text).then(
      (r) => {
        setResult(r);
        setError(null);
      },
      (e: unknown) => {
        setResult(null);
        setError(String((e as Error)?.message ?? e));
      },
    );
  };

  return (
    <div>
      <p>
        {tables.map((name) => (
          <button
            key={name}
            type="button"
            style={{ ...styles.button, marginRight: 4, marginBottom: 4 }}
            onClick={() => run(`SELECT * FROM "${name.replaceAll('"', '""')}" LIMIT 100`)}
          >
            {name}
          </button>
        ))}
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          run(sql);
        }}
      >
        <textarea
          aria-label="read-only query"
          style={styles.input}
          value={sql}
          onChange={(event) => setSql(event.target.value)}
          placeholder="SELECT … (read-only)"
        />
        <button type="submit" style={styles.button}>
          Run
        </button>
      </form>
      {error ? (
        <p role="alert" style={styles.error}>
          {error}
        </p>
      ) : null}
      {result ? (
        <table style={styles.table}>
          <thead>
            <tr>
              {result.columns.map((c) => (
                <th key={c} style={styles.cell}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: result rows have no key of their own
              <tr key={i}>
                {result.columns.map((c) => (
                  <td key={c} style={styles.cell}>
                    {row[c] instanceof Uint8Array
                      ? `<${(row[c] as Uint8Array).length} bytes>`
                      : String(row[c])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {result?.truncated ? <p style={styles.muted}>First 1,000 rows.</p> : null}
    </div>
  );
}
