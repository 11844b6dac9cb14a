// Where a CPU profile's time went: V8's samples summed by function (self
// time), the shape a benchmark report can quote.
import type { CpuProfile } from './page-devtools.ts';

/** A function's self time in a profile. */
export interface SelfTime {
  /** `name (file:line)`, or V8's own `(garbage collector)`, `(idle)`, `(program)`. */
  readonly place: string;
  readonly ms: number;
}

/** The file name of a script URL, without a bundle's hash: `index.js`, `wa-sqlite.mjs`. */
function fileOf(url: string): string {
  const name = url.split('/').at(-1) ?? url;
  return name.replace(/-[\w-]{8}(\.m?js)$/, '$1');
}

/**
 * Self time by function, largest first, and the time sampled in all. A
 * function is named with its file and line, since a bundle's functions
 * share one file.
 */
export function selfTimes(profile: CpuProfile): { total: number; top: SelfTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  const deltas = profile.timeDeltas ?? [];
  (profile.samples ?? []).forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    const us = deltas[i + 1] ?? 0;
    const place =
      frame.url === ''
        ? `(${frame.functionName || 'native'})`
        : `${frame.functionName || '(anonymous)'} (${fileOf(frame.url)}:${frame.lineNumber + 1})`;
    self.set(place, (self.get(place) ?? 0) + us);
    total += us;
  });
  const top = [...self]
    .map(([place, us]) => ({ place, ms: us / 1000 }))
    .sort((a, b) => b.ms - a.ms);
  return { total: total / 1000, top };
}

/** A markdown list of a profile's `count` largest self times, with their share. */
export function selfTimeLines(title: string, profile: CpuProfile, count = 15): string[] {
  const { total, top } = selfTimes(profile);
  return [
    `${title} (${total.toFixed(0)} ms sampled):`,
    '',
    ...top
      .slice(0, count)
      .map(
        (t) => `- ${t.ms.toFixed(0)} ms (${((t.ms / (total || 1)) * 100).toFixed(1)}%) ${t.place}`,
      ),
    '',
  ];
}
