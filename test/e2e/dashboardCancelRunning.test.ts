// Cancelling a running job from the dashboard, in headless Chromium (issue 22): the Cancel button of an
// in_progress job's page records JobCancelRequested; the page then shows "cancel requested" (who, why) while
// the action, which ignores its signal, still runs; when the action returns the page shows the job cancelled.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as t from 'io-ts';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { runDashboard, type DashboardHandle } from '../../src/dashboard/index.js';
import { launchBrowser, watchProblems } from '../support/browser.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('the dashboard in headless Chromium: cancel a running job');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-cancel-'));
const releases = new Map<string, () => void>();
const abortedWith = new Map<string, unknown>();

const slow = defineWorker({
  name: 'slow-import',
  payload: t.type({ key: t.string }),
  action: async ({ key }, ctx) => {
    ctx.signal.addEventListener('abort', () => abortedWith.set(key, ctx.signal.reason), { once: true });
    await new Promise<void>((resolve) => releases.set(key, resolve));
    ctx.signal.throwIfAborted();
    return 'imported';
  },
});

let engine: Engine;
let dashboard: DashboardHandle;
let browser: Browser;
let page: Page;
let problems: string[] = [];
const text = async (selector: string): Promise<string> => ((await page.locator(selector).first().textContent()) ?? '').trim();

test.before(async () => {
  engine = await createEngine({ store: `sqlite:${join(dir, 'events.db')}`, broker: 'memory', workers: [slow], gracePeriodMs: 1_000 });
  await engine.start();
  dashboard = await runDashboard({ engine, port: 0 });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
  problems = watchProblems(page);
});

test.after(async () => {
  for (const release of releases.values()) release();
  await browser?.close();
  await dashboard?.stop();
  await engine?.close({ gracePeriodMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

test('the Cancel button of a running job records the request; the page shows "cancel requested", then cancelled', async () => {
  const jobId = `running-${randomUUID().slice(0, 8)}`;
  await engine.enqueue(slow, { key: jobId }, { jobId });
  await waitFor(() => releases.has(jobId), 10_000, 'the action to start');
  await page.goto(`${dashboard.url}jobs/${jobId}`);
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 10_000 });
  assert.is(await text('[data-section="view"] [data-status]'), 'In progress');
  assert.is(await page.locator('[data-field="cancelRequested"]').count(), 0, 'no request yet');

  await page.fill('#by', 'ada');
  await page.fill('#reason', 'wrong file');
  page.once('dialog', (d) => void d.accept());
  await page.click('button[data-action="cancel"]');
  await waitFor(async () => (await text('#action-result')).startsWith('Cancel requested'), 5_000, 'the outcome to show');
  assert.match(await text('#action-result'), 'Cancel requested by ada: attempt 1 is being aborted');

  // Live: the view shows the request while the action (which ignores its signal) still runs.
  await waitFor(async () => (await page.locator('[data-field="cancelRequested"]').count()) === 1, 10_000, 'the page to show the request');
  assert.is(await text('[data-field="cancelRequested"]'), 'cancel requested');
  assert.is(await text('[data-section="view"] [data-status]'), 'In progress');
  assert.match(await text('[data-field="cancelRequest"]'), /by ada \(wrong file\): attempt 1 is being aborted/);
  await waitFor(async () => (await page.locator('#timeline .ev-JobCancelRequested').count()) === 1, 10_000, 'the history row');
  assert.match(await text('#timeline .ev-JobCancelRequested'), 'wrong file');
  assert.is(abortedWith.get(jobId), 'cancelled', 'the action’s signal was aborted');

  releases.get(jobId)!();
  await waitFor(async () => (await text('[data-section="view"] [data-status]')) === 'Cancelled', 10_000, 'the job to show as cancelled');
  assert.is(await page.locator('[data-field="cancelRequested"]').count(), 0, 'the request is gone once the attempt ended');
  assert.match(await text('[data-field="cancelledAt"]'), 'wrong file');
  assert.equal(problems, []);
});

test.run();
