// Local insert → re-rendered list, in real Chromium on the OPFS driver,
// against a plain React state update rendering the same list. The page and
// the Chromium launcher live in packages/react/browser-test (they need
// React, Vite and playwright-core, which that package has).

import '../../packages/react/browser-test/page/page-app.ts';
import { launchChromium, openPage, startTestSite } from '../../packages/react/browser-test/site.ts';
import { type Comparison, percentile, type Settled, settle } from './measure.ts';

const RUNS = 60;
const WARMUP = 5;

/** One sample per run of each: plain setState append, then a Carburetor hook insert. */
export async function reactInsertRender(
  sizes: readonly number[] = [1_000, 10_000],
): Promise<Settled[]> {
  const site = await startTestSite();
  const browser = await launchChromium();
  const rows: Settled[] = [];
  try {
    for (const size of sizes) {
      const page = await openPage(
        await browser.context.newPage(),
        `${site.origin}/?db=bench-${size}`,
      );
      await page.evaluate((n) => app.seed(n), size);
      await page.evaluate(() => app.mountPlain());
      const pair = async () => {
        const plain = await page.evaluate(() => app.timePlainInsert());
        const carburetor = await page.evaluate(() => app.timeCarburetorInsert());
        return { plain, carburetor };
      };
      for (let i = 0; i < WARMUP; i++) await pair();
      const label = size >= 1000 ? `${size / 1000}k rows` : `${size} rows`;
      rows.push(
        ...(await settle(`react-insert-render ${label}`, async (): Promise<Comparison[]> => {
          const ours: number[] = [];
          const baseline: number[] = [];
          for (let i = 0; i < RUNS; i++) {
            const { plain, carburetor } = await pair();
            baseline.push(plain);
            ours.push(carburetor);
          }
          return [
            {
              name: `insert → list committed, ${label}, p50`,
              ours,
              baseline,
              mode: 'difference',
              limit: size >= 10_000 ? 250 : 50,
            },
            {
              name: `insert → list committed, ${label}, p95`,
              ours: [percentile(ours, 95)],
              baseline: [percentile(baseline, 95)],
              mode: 'difference',
              limit: size >= 10_000 ? 400 : 100,
            },
          ];
        })),
      );
      await page.close();
    }
  } finally {
    await browser.close();
    await site.close();
  }
  return rows;
}
