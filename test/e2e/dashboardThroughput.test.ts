// The overview's throughput history in headless Chromium: charts for the last
// hour, day and week drawn from the job-throughput projection, with axes, tick
// labels and a legend whose totals match the jobs run; they move without a
// reload as more jobs finish, and read the same after the engine and the
// dashboard restart on the same store. On the test store: SQLite, or
// EventStoreDB with ESDB_URL (the fake: test/support/runAgainstFakeEsdb.ts),
// where earlier tests' jobs are counted too, so what this one adds is compared.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as t from 'io-ts';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runDashboard, type DashboardHandle } from '../../src/dashboard/index.js';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { launchBrowser, saveScreenshot, watchProblems } from '../support/browser.js';
import { readyTestStore, testJobId, testStoreLabel, testStoreUrl } from '../support/testStore.js';
import { waitFor } from '../support/waitFor.js';

const test = suite(`the dashboard in headless Chromium: throughput history charts from the job-throughput projection (${testStoreLabel})`);

const dir = mkdtempSync(join(tmpdir(), 'jobtrail-throughput-'));
const store = testStoreUrl(dir);

const ok = defineWorker({ name: 'send-email', payload: t.type({}), action: async () => 'sent' });
const broken = defineWorker({
  name: 'charge-card',
  payload: t.type({}),
  maxAttempts: 1,
  action: async () => {
    throw new Error('card declined');
  },
});
const flaky = defineWorker({
  name: 'resize-image',
  payload: t.type({}),
  maxAttempts: 2,
  retryDelay: () => 50,
  action: async (_p, ctx) => {
    if (ctx.attempt === 1) throw new Error('image service answered 503');
    return 'resized';
  },
});

let engine: Engine;
let dashboard: DashboardHandle;
let browser: Browser;
let page: Page;
let problems: string[] = [];

const start = async () => {
  engine = await createEngine({ store, broker: 'memory', workers: [ok, broken, flaky], gracePeriodMs: 1_000 });
  await engine.start();
  dashboard = await runDashboard({ engine, port: 0 });
};
const stop = async () => {
  await dashboard?.stop();
  await engine?.close({ gracePeriodMs: 0 });
};

/** The few DOM members read in the page (the tests are compiled without the DOM library). */
interface El {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El> & { readonly length: number };
}

/** A chart's totals as the page shows them: the figure's attributes, its legend, and the sum over its bars. */
const chart = async (range: string) =>
  page.evaluate((r) => {
    const figure = (globalThis as unknown as { document: El }).document.querySelector(`[data-chart="${r}"]`);
    if (!figure) return undefined;
    const kinds = ['enqueued', 'completed', 'failed', 'errored', 'cancelled'];
    const attr: Record<string, number> = {};
    const legend: Record<string, number> = {};
    const bars: Record<string, number> = {};
    for (const k of kinds) {
      attr[k] = Number(figure.getAttribute(`data-total-${k}`) ?? NaN);
      legend[k] = Number(figure.querySelector(`[data-total="${k}"]`)?.textContent ?? NaN);
      bars[k] = [...figure.querySelectorAll(`.tp-bars g[data-${k}]`)].reduce((n, g) => n + Number(g.getAttribute(`data-${k}`)), 0);
    }
    let peak = 0;
    for (const g of figure.querySelectorAll('.tp-bars g')) {
      const [e, c, f, r, x] = kinds.map((k) => Number(g.getAttribute(`data-${k}`)));
      peak = Math.max(peak, e ?? 0, (c ?? 0) + (f ?? 0) + (r ?? 0) + (x ?? 0));
    }
    return {
      peak,
      attr,
      legend,
      bars,
      buckets: figure.querySelectorAll('.tp-bars g').length,
      yTicks: [...figure.querySelectorAll('.tp-y text[data-tick]')].map((e) => e.textContent),
      xLabels: [...figure.querySelectorAll('.tp-x text')].map((e) => e.textContent),
      legendLabels: [...figure.querySelectorAll('.tp-legend li')].map((e) => e.textContent?.trim()),
      caption: figure.querySelector('figcaption')?.textContent,
    };
  }, range);

type Counts = Record<string, number>;
/** Each range's totals before this test's jobs (none on a new SQLite file). */
const baseline: Record<string, Counts> = {};
const plus = (a: Counts, b: Counts): Counts => Object.fromEntries(Object.keys(b).map((k) => [k, (a[k] ?? 0) + (b[k] ?? 0)]));

const shows = async (range: string, added: Counts) => {
  const expected = plus(baseline[range] ?? {}, added);
  let last: unknown;
  await waitFor(
    async () => {
      const c = await chart(range);
      last = c;
      return c !== undefined && JSON.stringify(c.attr) === JSON.stringify(expected);
    },
    15_000,
    `the ${range} chart to total ${JSON.stringify(expected)} (last seen: ${JSON.stringify(last)})`,
    100,
  );
  const c = (await chart(range)) as NonNullable<Awaited<ReturnType<typeof chart>>>;
  assert.equal(c.legend, expected, `${range}: the legend's totals`);
  assert.equal(c.bars, expected, `${range}: the bars add up to the totals`);
  return c;
};

test.before(async () => {
  await readyTestStore();
  await start();
  const before = (await (await fetch(new URL('api/throughput', dashboard.url))).json()) as { ranges: Record<string, { totals: Counts }> };
  for (const [range, series] of Object.entries(before.ranges)) baseline[range] = series.totals;
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  problems = watchProblems(page);
});

test.after(async () => {
  await browser?.close();
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

const expected = { enqueued: 13, completed: 8, failed: 3, errored: 2, cancelled: 2 };

test('after jobs of every outcome, the three charts total them, with axes, tick labels and a legend', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) ids.push((await engine.enqueue(ok, {}, { jobId: testJobId(`email-${i}`) })).jobId);
  for (let i = 0; i < 3; i++) ids.push((await engine.enqueue(broken, {}, { jobId: testJobId(`charge-${i}`) })).jobId);
  for (let i = 0; i < 2; i++) ids.push((await engine.enqueue(flaky, {}, { jobId: testJobId(`resize-${i}`) })).jobId);
  for (let i = 0; i < 2; i++) {
    await engine.enqueue(ok, {}, { jobId: testJobId(`later-${i}`), runAt: new Date(Date.now() + 3_600_000) });
    await engine.cancel(testJobId(`later-${i}`), { by: 'test' });
  }
  await engine.waitForFinal(ids, { timeoutMs: 20_000 });

  await page.goto(dashboard.url);
  const hour = await shows('hour', expected);
  const day = await shows('day', expected);
  const week = await shows('week', expected);
  assert.is(hour.buckets, 60, 'the last hour: 60 minutes');
  assert.is(day.buckets, 96, 'the last day: 96 quarter hours');
  assert.is(week.buckets, 168, 'the last week: 168 hours');
  assert.is(hour.caption, 'Last hour, per minute');
  for (const c of [hour, day, week]) {
    assert.ok(c.yTicks.length >= 2 && c.yTicks[0] === '0', `y ticks from 0: ${c.yTicks.join(' ')}`);
    assert.ok(
      c.peak >= 1 && Number(c.yTicks[c.yTicks.length - 1]) >= c.peak,
      `the y axis reaches the tallest bar (${c.peak}): ${c.yTicks.join(' ')}`,
    );
    assert.ok(c.xLabels.length >= 5, `x tick labels: ${c.xLabels.join(' ')}`);
    assert.equal(
      c.legendLabels.map((l) => l?.replace(/\s*\d+$/, '')),
      ['Enqueued', 'Completed', 'Errored (will retry)', 'Failed', 'Cancelled'],
    );
  }
  // Hour and day ticks are clock times; the week's are days.
  assert.ok(
    hour.xLabels.every((l) => /^\d\d:\d\d$|\d/.test(l ?? '')),
    hour.xLabels.join(' '),
  );
  assert.ok(
    week.xLabels.every((l) => /\d/.test(l ?? '') && !/:/.test(l ?? '')),
    week.xLabels.join(' '),
  );
  assert.match((await page.locator('[data-tp-status]').textContent()) ?? '', /^Updated /);
  await saveScreenshot(page, 'throughput-history');
  assert.equal(problems, [], 'no console error and no CSP violation');
});

test('the charts move without a reload as more jobs finish', async () => {
  await page.evaluate('window.__notReloaded = true');
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 10_000 });
  const more = [];
  for (let i = 0; i < 3; i++) more.push((await engine.enqueue(ok, {}, { jobId: testJobId(`more-${i}`) })).jobId);
  await engine.waitForFinal(more, { timeoutMs: 10_000 });
  await shows('hour', { ...expected, enqueued: 16, completed: 11 });
  assert.is(await page.evaluate('window.__notReloaded'), true, 'the page was not reloaded');
});

test('after the engine and the dashboard restart, the charts read the same counts', async () => {
  await stop();
  await start();
  await page.goto(dashboard.url);
  await shows('hour', { ...expected, enqueued: 16, completed: 11 });
  await shows('week', { ...expected, enqueued: 16, completed: 11 });
  await saveScreenshot(page, 'throughput-history-after-restart');
  assert.equal(problems, [], 'no console error and no CSP violation');
});

test('/api/throughput: all three series, one with ?range=, a clear 400 for an unknown range', async () => {
  const all = (await (await fetch(new URL('api/throughput', dashboard.url))).json()) as {
    ranges: Record<string, { buckets: unknown[]; totals: Record<string, number> }>;
  };
  assert.equal(Object.keys(all.ranges), ['hour', 'day', 'week']);
  assert.equal(all.ranges['week']?.totals, plus(baseline['week'] ?? {}, { ...expected, enqueued: 16, completed: 11 }));
  const day = (await (await fetch(new URL('api/throughput?range=day', dashboard.url))).json()) as {
    range: string;
    stepMs: number;
    buckets: unknown[];
  };
  assert.is(day.range, 'day');
  assert.is(day.stepMs, 900_000);
  assert.is(day.buckets.length, 96);
  const bad = await fetch(new URL('api/throughput?range=year', dashboard.url), { headers: { Accept: 'application/json' } });
  assert.is(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, 'unknown range "year"; use hour, day, week');
});

test.run();
