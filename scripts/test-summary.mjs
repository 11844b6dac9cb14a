// Sums the JSON reports that every vitest run writes to <package>/test-results/
// and prints the one line CI reads: "N passed, N failed".
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const reports = [];
const walk = (dir, depth) => {
  if (depth > 3) return;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    if (name === 'test-results') {
      for (const file of readdirSync(path)) {
        if (file.endsWith('.json')) reports.push(join(path, file));
      }
    } else walk(path, depth + 1);
  }
};
walk(root, 0);

let passed = 0;
let failed = 0;
const failures = [];
for (const file of reports) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  // Name each failure here too: CI shows only the end of the output.
  for (const suite of report.testResults ?? []) {
    const where = suite.name?.slice(root.length) ?? file;
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) {
      failures.push(`${where}: ${(suite.message ?? '').split('\n')[0]}`);
    }
    for (const test of suite.assertionResults ?? []) {
      if (test.status !== 'failed') continue;
      const reason = (test.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
      failures.push(`${where} > ${test.fullName}: ${reason}`);
    }
  }
  failed += (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  if (report.success === false && (report.numFailedTests ?? 0) === 0) failed += 1;
}
for (const failure of failures) console.log(`FAILED ${failure}`);
// A runner that crashed before writing its report still failed: count it.
if (process.argv.includes('--run-failed') && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || reports.length === 0 ? 1 : 0);
