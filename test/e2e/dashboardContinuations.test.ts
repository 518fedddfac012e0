// Continuations on the dashboard, in headless Chromium (docs/continuations.md):
// a job's page links its parents (with the status each was released in) and
// its children, its history shows JobReleased (and the parent's
// JobContinuationAdded), and the Awaiting tab lists a continuation that waits.
// Its job ids carry the run's tag, so it runs on a shared EventStoreDB server
// (ESDB_URL, test/support/testStore.ts) as well as on the embedded store.
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
import { launchBrowser, watchProblems } from '../support/browser.js';
import { readyTestStore, testStoreLabel, testStoreUrl } from '../support/testStore.js';

const test = suite(`the dashboard in headless Chromium: continuations (${testStoreLabel})`);

const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-continuations-'));
const run = randomUUID().slice(0, 8);
const id = (name: string) => `cont-${run}-${name}`;

const step = defineWorker({
  name: 'step',
  payload: t.type({ name: t.string }),
  maxAttempts: 1,
  action: async ({ name }) => {
    await sleep(20);
    return { done: name };
  },
});

let engine: Engine;
let dashboard: DashboardHandle;
let browser: Browser;
let page: Page;
let problems: string[] = [];

const text = async (selector: string): Promise<string> => ((await page.locator(selector).first().textContent()) ?? '').trim();
const links = async (field: string) =>
  page.locator(`[data-field="${field}"] a[data-job-link]`).evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href')]));

test.before(async () => {
  await readyTestStore();
  engine = await createEngine({ store: testStoreUrl(dir), broker: 'memory', workers: [step], gracePeriodMs: 1_000 });
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

test('a job page links its parents and children; its history shows the release; a parent’s shows the link', async () => {
  // left, right → join (fan-in) → report.
  await engine.enqueue(step, { name: 'left' }, { jobId: id('left') });
  await engine.enqueue(step, { name: 'right' }, { jobId: id('right') });
  await engine.enqueue(step, { name: 'join' }, { jobId: id('join'), after: [id('left'), id('right')] });
  await engine.enqueue(step, { name: 'report' }, { jobId: id('report'), after: id('join') });
  const views = await engine.waitForFinal([id('join'), id('report')], { timeoutMs: 20_000 });
  assert.equal(
    views.map((v) => v?.status),
    ['completed', 'completed'],
  );

  await page.goto(`${dashboard.url}jobs/${id('join')}`);
  await page.locator('#live[data-state="open"]').waitFor({ timeout: 10_000 });
  assert.equal(await links('after'), [
    [id('left'), `/jobs/${id('left')}`],
    [id('right'), `/jobs/${id('right')}`],
  ]);
  assert.match(await text('[data-field="after"]'), `${id('left')} (completed), ${id('right')} (completed)`);
  assert.match(await text('[data-field="after"]'), 'runs when every one completed');
  assert.ok((await text('[data-field="released"] time')) !== '', 'the release time is shown');
  assert.equal(await links('children'), [[id('report'), `/jobs/${id('report')}`]]);
  // Its child's link (JobContinuationAdded) may come before or after its release: the rest is in order.
  assert.equal(
    (await page.locator('#timeline .evtype').allTextContents()).filter((type) => type !== 'JobContinuationAdded'),
    ['JobEnqueued', 'JobReleased', 'JobStarted', 'JobCompleted'],
  );
  const released = await text('#timeline tr.ev-JobReleased .what');
  assert.is(released, `released: ${id('left')} completed, ${id('right')} completed`);

  // Following the link to a parent: its page names the child, and its history the link.
  await page.click(`[data-field="after"] a[data-job-link="${id('left')}"]`);
  await page.waitForURL(`**/jobs/${id('left')}`);
  assert.equal(await links('children'), [[id('join'), `/jobs/${id('join')}`]]);
  assert.is(await page.locator('[data-field="after"]').count(), 0, 'a job with no parent shows no After');
  assert.match(await text('#timeline tr.ev-JobContinuationAdded .what'), `continuation ${id('join')} waits for this job`);
  // And on to the child's child.
  await page.goto(`${dashboard.url}jobs/${id('report')}`);
  assert.equal(await links('after'), [[id('join'), `/jobs/${id('join')}`]]);
  assert.is(await page.locator('[data-field="children"]').count(), 0);
  assert.equal(problems, [], 'no console error and no CSP violation');
});

test('the Awaiting tab lists a continuation that waits; its page shows it awaiting, not released', async () => {
  await engine.enqueue(step, { name: 'gate' }, { jobId: id('gate'), runAt: new Date(Date.now() + 10 * 60_000) });
  const waiting = await engine.enqueue(step, { name: 'waits' }, { jobId: id('waits'), after: id('gate') });
  assert.is(waiting.job.status, 'awaiting');

  await page.goto(dashboard.url);
  await page.locator('nav a[href="/jobs?status=awaiting"]').first().click();
  await page.waitForURL('**/jobs?status=awaiting');
  assert.match(await text('h1'), 'Awaiting jobs');
  // The list reads the job-view projection, which may lag a little behind the append (EventStoreDB).
  const row = page.locator(`table.jobs tr[data-job="${id('waits')}"]`);
  for (let i = 0; (await row.count()) === 0 && i < 50; i++) {
    await sleep(100);
    await page.reload();
  }
  assert.is(await row.count(), 1, 'listed under Awaiting');
  assert.match((await row.textContent()) ?? '', /awaiting/i);
  assert.is(await page.locator(`table.jobs tr[data-job="${id('gate')}"]`).count(), 0, 'its parent (enqueued) is not');

  await row.locator('a').click();
  await page.waitForURL(`**/jobs/${id('waits')}`);
  assert.match(await text('[data-field="status"]'), /awaiting/i);
  assert.equal(await links('after'), [[id('gate'), `/jobs/${id('gate')}`]]);
  assert.is(await page.locator('[data-field="released"]').count(), 0, 'not released');
  assert.equal(await page.locator('#timeline .evtype').allTextContents(), ['JobEnqueued']);
  assert.equal(problems, [], 'no console error and no CSP violation');
});

test.run();
