import { report } from './measure.ts';
import { typecheckConfig } from './typecheck-config.ts';

/** Every benchmark: its result file, title, what it compares, and how to run it. */
const benchmarks = {
  'core-typecheck': {
    title: 'Type-checking cost of a large config',
    notes:
      'A generated 50-table, 20-column config using InferRow, InferInsert, InferUpdate, InferNames, and kysely queries over ServerDatabase and ClientDatabase, against an empty file; limit: under 3 s more.',
    run: () => typecheckConfig(),
  },
} as const;

// `pnpm bench` runs them all; `pnpm bench core-typecheck` runs one.
const wanted = process.argv.slice(2);
let ok = true;
for (const [file, bench] of Object.entries(benchmarks)) {
  if (wanted.length > 0 && !wanted.includes(file)) continue;
  ok = report(file, bench.title, bench.notes, await bench.run()) && ok;
}
process.exitCode = ok ? 0 : 1;
