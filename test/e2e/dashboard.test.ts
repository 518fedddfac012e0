import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as t from 'io-ts';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { runDashboard, type DashboardHandle } from '../../src/dashboard/index.js';
import { launchBrowser, saveScreenshot, watchProblems } from '../support/browser.js';
import { waitFor } from '../support/waitFor.js';

// Stays on SQLite (not testStore.ts): it counts every job of the store (the overview, the job-dashboard projection), so it needs an empty one.
const test = suite('the dashboard in headless Chromium: live overview, a failed job, retry from the page');

const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-'));
const run = randomUUID().slice(0, 8);

/** Takes `ms`, and fails its first attempt when asked: retried after 100 ms. */
const slow = defineWorker({
  name: 'resize-image',
  payload: t.type({ ms: t.number, failFirst: t.boolean }),
  maxAttempts: 3,
  concurrency: 4,
  retryDelay: () => 100,
  action: async (p, ctx) => {
    await sleep(p.ms, undefined, { signal: ctx.signal });
    if (p.failFirst && ctx.attempt === 1) throw new Error('image service answered 503 (attempt 1)');
    return { width: 640, tookMs: p.ms };
  },
});

/** One attempt only, which fails: the job fails for good until someone retries it, and attempt 2 succeeds. */
const charge = defineWorker({
  name: 'charge-card',
  payload: t.type({ order: t.number }),
  maxAttempts: 1,
  action: async (p, ctx) => {
    if (ctx.attempt === 1) throw new Error(`card declined for order ${p.order}`);
    return { charged: true, attempt: ctx.attempt };
  },
});

let engine: Engine;
let dashboard: DashboardHandle;
let browser: Browser;
let page: Page;
let problems: string[] = [];

const text = async (selector: string): Promise<string> => ((await page.locator(selector).first().textContent()) ?? '').trim();
const count = async (status: string): Promise<number> => Number(await text(`[data-count="${status}"]`));

test.before(async () => {
  engine = await createEngine({
    store: `sqlite:${join(dir, 'events.db')}`,
    broker: 'memory',
    workers: [slow, charge],
    gracePeriodMs: 1_000,
  });
  await engine.start();
  dashboard = await runDashboard({ engine, port: 0 });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
  problems = watchProblems(page);
});

test.after(async () => {
  await browser?.close();
  await dashboard?.stop();
  await engine?.close({ gracePeriodMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

test('the overview counts move while jobs run, without a reload (server-sent events)', async () => {
  await page.goto(dashboard.url);
  assert.is(await page.title(), 'Overview · jobtrail');
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 10_000 });
  const before = await count('completed');
  await page.evaluate('window.__notReloaded = true');

  const ids: string[] = [];
  for (let i = 0; i < 12; i++)
    ids.push(
      (await engine.enqueue('resize-image', { ms: 250 + (i % 4) * 100, failFirst: i % 3 === 0 }, { jobId: `img-${run}-${i}` })).jobId,
    );

  const completedSeen = new Set<number>();
  let inProgressSeen = 0;
  await waitFor(
    async () => {
      const completed = await count('completed');
      completedSeen.add(completed);
      inProgressSeen = Math.max(inProgressSeen, await count('in_progress'));
      return completed === before + 12;
    },
    30_000,
    'the completed count on the page to reach 12',
    50,
  );
  assert.ok(inProgressSeen > 0, 'the page showed jobs in progress while they ran');
  assert.ok(completedSeen.size >= 3, `the completed count moved in steps, not once: saw ${[...completedSeen].join(', ')}`);
  assert.is(await page.evaluate('window.__notReloaded'), true, 'the page was not reloaded');

  await waitFor(
    async () => (await text('[data-worker="resize-image"] [data-worker-completed]')) === '12',
    5_000,
    'the worker table to count 12 completed',
  );
  const row = (await page.locator('[data-worker="resize-image"] td').allTextContents()).map((s) => s.trim());
  assert.equal(row.slice(0, 4), ['resize-image', '12', '12', '4'], 'enqueued, completed, failed attempts');
  assert.match(row[4] ?? '', /ms|s$/, `a mean duration is shown: ${row[4]}`);
  assert.match(row[5] ?? '', /ms|s$/, `a p95 duration is shown: ${row[5]}`);
  // The throughput window counts what happened since the dashboard started.
  assert.is(Number(await text('[data-metric="window-completed"]')), 12);
  assert.is(Number(await text('[data-metric="window-failed"]')), 4);
  assert.is(await text('[data-metric="failure-rate"]'), '25.0%');
  assert.equal(problems, [], 'no console error and no CSP violation');
});

test('a failed job: its error and timeline; retry from the page, the new events arrive live and it completes', async () => {
  const jobId = `charge-${run}`;
  await engine.enqueue('charge-card', { order: 42 }, { jobId });
  const [failed] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  assert.is(failed?.status, 'errored');
  assert.is(failed?.retryAt, undefined, 'maxAttempts 1: failed for good');

  await page.goto(dashboard.url);
  const link = page.locator(`[data-section="failures"] a[href="/jobs/${jobId}"]`);
  await link.waitFor({ timeout: 10_000 });
  await link.click();
  await page.waitForURL(`**/jobs/${jobId}`);
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 10_000 });

  assert.is(await text('[data-section="view"] [data-status]'), 'Failed');
  assert.is(await text('[data-field="lastError"]'), 'Error: card declined for order 42');
  assert.match(await text('[data-section="view"] pre.stack'), /card declined for order 42\s+at /);
  assert.equal(await page.locator('#timeline .evtype').allTextContents(), ['JobEnqueued', 'JobStarted', 'JobErrored']);
  assert.match(await text('#timeline tr[data-revision="2"]'), 'no retry');
  assert.match(await text('#timeline tr[data-revision="2"] pre.stack'), 'at ');
  assert.match(await text('[data-field="payload"]'), '"order": 42');
  assert.match(await text('[data-field="backgroundJobId"]'), /^[0-9a-f-]{36}$/);
  await page.evaluate('window.__notReloaded = true');

  await page.fill('#by', 'ada');
  const dialogs: string[] = [];
  page.once('dialog', (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
  await page.click('button[data-action="retry"]');
  await waitFor(
    async () => (await page.locator('#timeline .evtype').allTextContents()).includes('JobCompleted'),
    15_000,
    'JobCompleted to appear in the timeline',
    50,
  );
  assert.equal(dialogs.length, 1);
  assert.match(dialogs[0] ?? '', `Retry job ${jobId} as "ada"`);
  assert.equal(await page.locator('#timeline .evtype').allTextContents(), [
    'JobEnqueued',
    'JobStarted',
    'JobErrored',
    'JobReset',
    'JobStarted',
    'JobCompleted',
  ]);
  assert.is(await page.evaluate('window.__notReloaded'), true, 'the events arrived without a reload');
  assert.match(await text('#timeline tr[data-revision="3"]'), 'reason=manual');
  assert.is(await text('#timeline tr[data-revision="3"] td:last-child'), 'ada', 'the reset records who did it');
  assert.match(await text('#timeline tr[data-revision="4"]'), '#2');
  await waitFor(async () => (await text('[data-section="view"] [data-status]')) === 'Completed', 5_000, 'the view to show Completed');
  assert.match(await text('[data-field="result"]'), '"charged": true');
  assert.match(await text('#action-result'), 'Retried by ada');

  const history = await engine.history(jobId);
  const reset = history.find((e) => e.event.type === 'JobReset');
  assert.equal(reset?.event.data, { at: (reset?.event.data as { at: string }).at, reason: 'manual', by: 'ada' });
  assert.is(reset?.metadata['by'], 'ada');
  assert.is(await page.evaluate("localStorage.getItem('jobtrail.by')"), 'ada', 'the name is kept for next time');
  await saveScreenshot(page, 'job');

  // Only the actions its state allows: completed now, the page (updated live) offers Purge, not Retry or Cancel.
  await waitFor(
    async () =>
      (
        await page.locator('section.actions button[data-action]:visible').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-action')))
      ).join() === 'purge',
    5_000,
    'the completed job to offer purge only',
  );
  await page.reload();
  assert.equal(
    await page.locator('section.actions button[data-action]:visible').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-action'))),
    ['purge'],
    'and so does the page rendered anew',
  );
  assert.equal(problems, []);
  problems.length = 0;
});

test('lists by status: filter by worker, page with the cursor', async () => {
  await page.goto(`${dashboard.url}jobs?status=completed&worker=resize-image`);
  assert.is(await page.locator('table.jobs tbody tr').count(), 12);
  assert.equal(new Set(await page.locator('table.jobs tbody tr td:nth-child(2)').allTextContents()), new Set(['resize-image']));

  await page.goto(`${dashboard.url}jobs?status=completed`);
  assert.is(await page.locator('table.jobs tbody tr').count(), 13);
  await page.selectOption('select[name="worker"]', 'charge-card');
  await page.waitForURL('**/jobs?status=completed&worker=charge-card');
  assert.equal(await page.locator('table.jobs tbody tr td:first-child').allTextContents(), [`charge-${run}`]);

  // Pages of 50: enqueue 55 jobs far in the future, then walk the pages.
  const runAt = new Date(Date.now() + 3_600_000).toISOString();
  for (let i = 0; i < 55; i++)
    await engine.enqueue('resize-image', { ms: 1, failFirst: false }, { jobId: `later-${run}-${String(i).padStart(2, '0')}`, runAt });
  const { queries } = await engine.projections();
  await queries.waitFor('job-dashboard', (s) => (s as { counts: { initial: number } }).counts.initial === 55, { timeoutMs: 10_000 });
  await page.goto(`${dashboard.url}jobs?status=initial`);
  const first = await page.locator('table.jobs tbody tr td:first-child').allTextContents();
  assert.is(first.length, 50);
  await page.click('a[rel="next"]');
  const second = await page.locator('table.jobs tbody tr td:first-child').allTextContents();
  assert.is(second.length, 5);
  assert.is(new Set([...first, ...second]).size, 55, 'each job on exactly one page');
  assert.is(await page.locator('a[rel="next"]').count(), 0, 'the last page has no next link');

  // Cancel one from its page; the cancelled list shows it.
  const cancelled = `later-${run}-00`;
  await page.goto(`${dashboard.url}jobs/${cancelled}`);
  await page.fill('#reason', 'customer left');
  page.once('dialog', (d) => void d.accept());
  await page.click('button[data-action="cancel"]');
  await waitFor(async () => (await text('[data-section="view"] [data-status]')) === 'Cancelled', 10_000, 'the job to show as cancelled');
  assert.match(await text('[data-field="cancelledAt"]'), 'customer left');
  await queries.waitFor('job-view', (v) => (v as { status?: string } | undefined)?.status === 'cancelled', {
    partition: `job-${cancelled}`,
    timeoutMs: 10_000,
  });
  await page.goto(`${dashboard.url}jobs?status=cancelled`);
  assert.equal(await page.locator('table.jobs tbody tr td:first-child').allTextContents(), [cancelled]);
  assert.equal(problems, [], 'no console error and no CSP violation');
});

test('the overview, with everything above in it (screenshot for the README)', async () => {
  await page.goto(dashboard.url);
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 10_000 });
  await waitFor(async () => (await count('cancelled')) === 1 && (await count('initial')) === 54, 10_000, 'the counts of the list test');
  assert.is(await count('completed'), 13);
  assert.is(await count('failed'), 0);
  assert.is(await count('total'), 68);
  assert.match(await text('[data-section="failures"]'), 'card declined for order 42');
  await saveScreenshot(page, 'overview', 'dashboard.png');
  assert.equal(problems, [], 'no console error and no CSP violation');
});

test.run();
