import { mkdirSync, writeFileSync } from 'node:fs';
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

/** One line of a result table: our figure against the raw baseline. */
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

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** Prints a result table and writes it to bench/results/<file>.md; returns whether every limit held. */
export function report(file: string, title: string, notes: string, rows: Comparison[]): boolean {
  const lines = [
    `# ${title}`,
    '',
    notes,
    '',
    `Measured ${new Date().toISOString()} on ${process.platform}/${process.arch}, Node ${process.version}; medians of the runs.`,
    '',
    '| benchmark | ours (median) | baseline (median) | result | limit | runs | ok |',
    '|---|---|---|---|---|---|---|',
  ];
  let allOk = true;
  for (const row of rows) {
    const unit = row.unit ?? 'ms';
    const ours = median(row.ours);
    const base = median(row.baseline);
    const difference = row.mode === 'difference';
    const value = difference ? ours - base : ours / base;
    const ok = value <= row.limit;
    allOk &&= ok;
    const shown = difference ? `+${fmt(value)} ${unit}` : `${value.toFixed(2)}x`;
    const limit = difference ? `+${row.limit} ${unit}` : `${row.limit}x`;
    lines.push(
      `| ${row.name} | ${fmt(ours)} ${unit} | ${fmt(base)} ${unit} | ${shown} | ${limit} | ${row.ours.length} | ${ok ? 'yes' : 'NO'} |`,
    );
  }
  const text = `${lines.join('\n')}\n`;
  mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`../results/${file}.md`, import.meta.url), text);
  console.log(text);
  return allOk;
}
