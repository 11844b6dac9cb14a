import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Milliseconds an async function takes. */
export async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** One line of one round's result: our samples against the raw baseline's. */
export interface Comparison {
  name: string;
  ours: number[];
  baseline: number[];
  /** Largest acceptable ratio of medians (ours / baseline), or a difference for `mode: 'difference'`. */
  limit: number;
  mode?: 'ratio' | 'difference';
  unit?: string;
}

/**
 * Runs `ours` and `baseline` alternately, so noise on a shared machine hits
 * both alike, and returns the samples.
 */
export async function sideBySide(
  runs: number,
  ours: () => Promise<unknown> | unknown,
  baseline: () => Promise<unknown> | unknown,
): Promise<{ ours: number[]; baseline: number[] }> {
  const result = { ours: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < runs; i++) {
    result.baseline.push(await time(baseline));
    result.ours.push(await time(ours));
  }
  return result;
}

// ---------------------------------------------------------------- the machine's load

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU ticks every core of the machine spent busy so far (/proc/stat: all but idle and iowait). */
function machineBusyTicks(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const [user, nice, system, , , irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  } catch {
    return undefined;
  }
}

/**
 * CPU ticks this process and every process it started (PostgreSQL and its
 * backends, Chromium, tsc, ...) have used so far: utime + stime + cutime +
 * cstime of each process in the tree under this one, from /proc/<pid>/stat.
 * cutime/cstime carry the time of children that already exited and were
 * reaped, so a short-lived child is counted too.
 */
function treeTicks(root = process.pid): number | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After "pid (comm) ": state ppid ... with utime stime cutime cstime at fields 14..17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(name);
    const ppid = Number(fields[1]);
    ticks.set(
      pid,
      Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
    );
    const siblings = children.get(ppid);
    if (siblings) siblings.push(pid);
    else children.set(ppid, [pid]);
  }
  let sum = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    sum += ticks.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return sum;
}

/** The machine's load over one stretch of a benchmark (one round). */
export interface Load {
  wallMs: number;
  /** Cores other processes kept busy on average: machine busy time minus this benchmark's process tree. */
  othersCores?: number;
  /** Cores this benchmark's own process tree kept busy on average. */
  oursCores?: number;
  /** os.loadavg() 1-minute figure at the start and at the end. */
  loadavg: [number, number];
}

const CORES = cpus().length;

/** Starts measuring the load; the returned function ends the stretch and gives its load. */
export function loadProbe(): () => Load {
  const start = performance.now();
  const busy0 = machineBusyTicks();
  const tree0 = treeTicks();
  const avg0 = loadavg()[0]!;
  return () => {
    const busy1 = machineBusyTicks();
    const tree1 = treeTicks();
    const wallMs = performance.now() - start;
    const seconds = wallMs / 1000;
    const load: Load = { wallMs, loadavg: [avg0, loadavg()[0]!] };
    if (busy0 !== undefined && busy1 !== undefined && tree0 !== undefined && tree1 !== undefined) {
      const busy = (busy1 - busy0) / TICKS / seconds;
      const ours = (tree1 - tree0) / TICKS / seconds;
      load.oursCores = ours;
      // The two counters are sampled separately (to a tick), so clamp at zero.
      load.othersCores = Math.max(0, busy - ours);
    }
    return load;
  };
}

// ---------------------------------------------------------------- rounds until the median settles

/** How `settle` reruns: defaults, each overridable by an environment variable. */
export const SETTLING = {
  /** Rounds always run (BENCH_MIN_ROUNDS). */
  minRounds: Number(process.env['BENCH_MIN_ROUNDS'] ?? 3),
  /** Rounds at most (BENCH_MAX_ROUNDS). */
  maxRounds: Number(process.env['BENCH_MAX_ROUNDS'] ?? 8),
  /** No round starts that would likely end after this many seconds of rounds, once minRounds ran (BENCH_MAX_SECONDS). */
  maxSeconds: Number(process.env['BENCH_MAX_SECONDS'] ?? 150),
  /** How many of the latest running results must agree. */
  window: 3,
  /** How closely (BENCH_TOLERANCE): their max − min within this fraction of the result (ratio) or of our median (difference). */
  tolerance: Number(process.env['BENCH_TOLERANCE'] ?? 0.03),
};

/** One line of a benchmark's result over all its rounds. */
export interface Settled {
  name: string;
  limit: number;
  mode: 'ratio' | 'difference';
  unit: string;
  /** Every round's samples, pooled. */
  ours: number[];
  baseline: number[];
  /** Per run: ours / baseline of each alternated pair (ours − baseline for a difference). */
  pairs: number[];
  /** Each round's own result, exactly as the benchmark defines it (ratio or difference of that round's medians). */
  roundResults: number[];
  /** The running result after each round: the median of the rounds' results so far. */
  running: number[];
  /** The load during each round. */
  loads: Load[];
  settled: boolean;
  /** max − min of the last `window` running results, as a fraction of the scale (see SETTLING.tolerance). */
  drift: number;
}

/** A ratio of medians, or a difference of medians. */
function resultOf(mode: Settled['mode'], ours: readonly number[], baseline: readonly number[]) {
  return mode === 'difference' ? median(ours) - median(baseline) : median(ours) / median(baseline);
}

function driftOf(row: Settled, window: number): number {
  if (row.running.length < window) return Number.POSITIVE_INFINITY;
  const last = row.running.slice(-window);
  const scale =
    row.mode === 'difference' ? Math.abs(median(row.ours)) : Math.abs(row.running.at(-1)!);
  return (Math.max(...last) - Math.min(...last)) / (scale || 1);
}

/**
 * Runs `round` (one full sample set as the benchmark defines it: its runs,
 * alternating ours and baseline) again and again: at least minRounds times,
 * then until the running result of every line (the median of the rounds'
 * own results so far) has stayed within the tolerance over the last
 * `window` rounds, or the count or time cap is reached, in which case the
 * lines that did not settle say so. Records the load of each round.
 */
export async function settle(
  label: string,
  round: () => Promise<Comparison[]>,
  options: Partial<typeof SETTLING> = {},
): Promise<Settled[]> {
  const o = { ...SETTLING, ...options };
  const began = performance.now();
  let rows: Settled[] = [];
  for (let r = 1; ; r++) {
    const probe = loadProbe();
    const got = await round();
    const load = probe();
    if (r === 1) {
      rows = got.map((c) => ({
        name: c.name,
        limit: c.limit,
        mode: c.mode ?? 'ratio',
        unit: c.unit ?? 'ms',
        ours: [],
        baseline: [],
        pairs: [],
        roundResults: [],
        running: [],
        loads: [],
        settled: false,
        drift: Number.POSITIVE_INFINITY,
      }));
    }
    if (got.length !== rows.length || got.some((c, i) => c.name !== rows[i]!.name)) {
      throw new Error(`${label}: round ${r} gave other lines than round 1`);
    }
    got.forEach((c, i) => {
      const row = rows[i]!;
      row.ours.push(...c.ours);
      row.baseline.push(...c.baseline);
      if (c.ours.length === c.baseline.length) {
        c.ours.forEach((o, k) => {
          const b = c.baseline[k]!;
          row.pairs.push(row.mode === 'difference' ? o - b : o / b);
        });
      }
      row.roundResults.push(resultOf(row.mode, c.ours, c.baseline));
      // The median of the rounds' own results, not a ratio of pooled medians: each round's
      // ours and baseline ran side by side under the same load, another round's may not have.
      row.running.push(median(row.roundResults));
      row.loads.push(load);
      row.drift = driftOf(row, o.window);
      row.settled = row.drift <= o.tolerance;
    });
    const elapsed = (performance.now() - began) / 1000;
    console.log(
      `${label} round ${r} (${(load.wallMs / 1000).toFixed(1)} s, ${fmtLoad([load])}, ours ${load.oursCores?.toFixed(2) ?? 'n/a'} cores): ${rows
        .map(
          (row) =>
            `${shown(row, row.roundResults.at(-1)!)} (so far ${shown(row, row.running.at(-1)!)}${row.settled ? ', settled' : ''})`,
        )
        .join('; ')}`,
    );
    if (r < o.minRounds) continue;
    if (rows.every((row) => row.settled)) break;
    if (r >= o.maxRounds) break;
    if (elapsed + elapsed / r > o.maxSeconds) break;
  }
  return rows;
}

// ---------------------------------------------------------------- the report

const fmt = (n: number) =>
  Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
const signed = (n: number) => (n >= 0 ? `+${fmt(n)}` : fmt(n));

function shown(row: Pick<Settled, 'mode' | 'unit'>, value: number): string {
  return row.mode === 'difference' ? `${signed(value)} ${row.unit}` : `${value.toFixed(2)}x`;
}

function range(row: Settled, low: number, high: number): string {
  return row.mode === 'difference'
    ? `${signed(low)}…${signed(high)} ${row.unit}`
    : `${low.toFixed(2)}–${high.toFixed(2)}x`;
}

/** Others' cores (average over the rounds, weighted by time; the busiest round) and loadavg first → last. */
function fmtLoad(loads: readonly Load[]): string {
  const timed = loads.filter((l) => l.othersCores !== undefined);
  const wall = timed.reduce((s, l) => s + l.wallMs, 0);
  const avg = timed.reduce((s, l) => s + l.othersCores! * l.wallMs, 0) / (wall || 1);
  const max = Math.max(...timed.map((l) => l.othersCores!));
  const others =
    timed.length === 0
      ? 'others n/a'
      : timed.length === 1
        ? `others ${avg.toFixed(2)}/${CORES} cores`
        : `others ${avg.toFixed(2)}/${CORES} cores (max ${max.toFixed(2)})`;
  return `${others}, loadavg ${loads[0]!.loadavg[0].toFixed(1)}→${loads.at(-1)!.loadavg[1].toFixed(1)}`;
}

/** The commit of the measured tree, and whether its packages/ differ from it. */
function measuredCommit(): string {
  try {
    const root = new URL('../../', import.meta.url);
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const sha = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'packages') !== '';
    return `commit ${sha}${dirty ? ' with uncommitted changes in packages/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

export const HOW_TO_READ = `How to read: each round is the sample set described above, run alternately (ours, baseline); each round's result is its ratio (or difference) of medians as defined above, the result shown is the median of the rounds' results, and rounds repeat until that running median has stayed within ${(SETTLING.tolerance * 100).toFixed(0)}% (of the ratio, or of our median for a difference) over the last ${SETTLING.window} rounds, at least ${SETTLING.minRounds} and at most ${SETTLING.maxRounds} rounds or about ${SETTLING.maxSeconds} s of rounds; "settled: no" means a cap came first, and gives how far the last ${SETTLING.window} running results still moved. Spread: per run, the IQR (and min–max) of each run's own ours/baseline ratio (difference) for the alternated pairs; per round, the min–max of the rounds' own results (one figure per round for p95/p99 lines). Load: "others" is the CPU other processes used during the rounds, in cores out of ${CORES} (busy time of the whole machine from /proc/stat, minus the CPU of this benchmark's own process tree: this process and what it started, PostgreSQL, Chromium, tsc, from /proc/<pid>/stat), averaged over the rounds and for the busiest round (kernel work no process is charged for, such as writing back a big table's dirty pages, counts as others, and rounds under a second long read to about ±0.2 cores); loadavg is os.loadavg()'s 1-minute figure at the first round's start and the last round's end.`;

/** What a benchmark answers: its lines, and maybe more to say under the table (markdown). */
export type Outcome = Settled[] | { rows: Settled[]; appendix: string };

/**
 * Prints a result table (and the appendix under it) and writes it to
 * bench/results/<file>.md; returns whether every limit held.
 */
export function report(
  file: string,
  title: string,
  notes: string,
  rows: Settled[],
  appendix?: string,
): boolean {
  const lines = [
    `# ${title}`,
    '',
    notes,
    '',
    HOW_TO_READ,
    '',
    `Measured ${new Date().toISOString()} on ${process.platform}/${process.arch}, ${CORES} cores, Node ${process.version}, ${measuredCommit()}.`,
    '',
    '| benchmark | ours (median of all runs) | baseline (median of all runs) | result (median of rounds) | spread per run: IQR (min–max) | spread of rounds | limit | runs (rounds) | settled | load | ok |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  let allOk = true;
  for (const row of rows) {
    const value = row.running.at(-1)!;
    const ok = value <= row.limit;
    allOk &&= ok;
    const limit = row.mode === 'difference' ? `+${row.limit} ${row.unit}` : `${row.limit}x`;
    const perRun =
      row.pairs.length > row.roundResults.length
        ? `${range(row, percentile(row.pairs, 25), percentile(row.pairs, 75))} (${range(row, Math.min(...row.pairs), Math.max(...row.pairs))})`
        : '—';
    const rounds = range(row, Math.min(...row.roundResults), Math.max(...row.roundResults));
    const settled = row.settled
      ? 'yes'
      : Number.isFinite(row.drift)
        ? `no (moved ${(row.drift * 100).toFixed(1)}%)`
        : 'no (too few rounds)';
    lines.push(
      `| ${row.name} | ${fmt(median(row.ours))} ${row.unit} | ${fmt(median(row.baseline))} ${row.unit} | ${shown(row, value)} | ${perRun} | ${rounds} | ${limit} | ${row.ours.length} (${row.roundResults.length}) | ${settled} | ${fmtLoad(row.loads)} | ${ok ? 'yes' : 'NO'} |`,
    );
  }
  if (appendix) lines.push('', appendix.trimEnd());
  const text = `${lines.join('\n')}\n`;
  const raw = process.env['BENCH_RAW_DIR'];
  if (raw) {
    // Every sample and round, for a later look (not committed).
    mkdirSync(raw, { recursive: true });
    writeFileSync(`${raw}/${file}.json`, JSON.stringify({ file, title, rows }, null, 1));
  }
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`../results/${file}.md`, import.meta.url), text);
  console.log(text);
  return allOk;
}
