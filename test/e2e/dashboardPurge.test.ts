// The Purge action of a job's page (docs/retention.md), in headless Chromium: a final job is purged from its page,
// recorded with who and why, and no longer listed nor counted; a job that is not final has no Purge button.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { purgeStreamName, type JobsPurgedData } from '../../src/conductor/index.js';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { runDashboard, type DashboardHandle } from '../../src/dashboard/index.js';
import { launchBrowser, watchProblems } from '../support/browser.js';
import { waitFor } from '../support/waitFor.js';

// Stays on SQLite: it counts every job of the store.
const test = suite('the dashboard in headless Chromium: purge a final job from its page');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-purge-'));
const run = randomUUID().slice(0, 8);
const ok = defineWorker({ name: 'tidy', action: async () => ({ done: true }) });

let store: StoreBackend;
let engine: Engine;
let dashboard: DashboardHandle;
let browser: Browser;
let page: Page;
let problems: string[] = [];

test.before(async () => {
  store = await makeStore(`sqlite:${join(dir, 'events.db')}`);
  engine = await createEngine({ store, broker: 'memory', workers: [ok], retention: 'forever', rememberBroker: false });
  await engine.start();
  dashboard = await runDashboard({ engine, port: 0 });
  browser = await launchBrowser();
  page = await browser.newPage();
  problems = watchProblems(page);
});

test.after(async () => {
  await browser?.close();
  await dashboard?.stop();
  await engine?.close({ gracePeriodMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

test('Purge on a completed job: gone from the lists and the counts, recorded with who and why', async () => {
  const done = `done-${run}`;
  const later = `later-${run}`;
  await engine.enqueue(ok, {}, { jobId: done });
  await engine.enqueue(ok, {}, { jobId: later, runAt: new Date(Date.now() + 3_600_000).toISOString() });
  await engine.waitForFinal([done], { timeoutMs: 10_000 });
  const { queries } = await engine.projections();
  await queries.waitFor('job-dashboard', (s) => (s as { counts: { completed: number } }).counts.completed === 1, { timeoutMs: 10_000 });

  await page.goto(`${dashboard.url}jobs/${later}`);
  assert.is(await page.locator('button[data-action="purge"]:visible').count(), 0, 'a job that is not final shows no Purge button');

  await page.goto(`${dashboard.url}jobs/${done}`);
  await page.evaluate("localStorage.setItem('jobtrail.by', 'ada')");
  await page.reload();
  await page.fill('#reason', 'no longer needed');
  page.once('dialog', (d) => void d.accept());
  await page.click('button[data-action="purge"]');
  await waitFor(
    async () => ((await page.locator('#action-result').textContent()) ?? '').startsWith('Purged'),
    10_000,
    'the page to say purged',
  );
  assert.match((await page.locator('#action-result').textContent()) ?? '', 'Purged by ada');

  assert.is(await engine.getJob(done), undefined);
  const records = await store.readStream(purgeStreamName(new Date()))();
  const record = E.isRight(records)
    ? (records.right.map((e) => e.data as JobsPurgedData).find((d) => d.jobIds.includes(done)) ?? null)
    : null;
  assert.ok(record, 'a JobsPurged record names the job');
  assert.is(record!.by, 'ada');
  assert.is(record!.reason, 'no longer needed');

  await page.goto(`${dashboard.url}jobs?status=completed`);
  assert.is(await page.locator(`table.jobs tbody tr:has-text("${done}")`).count(), 0, 'the completed list no longer shows it');
  await page.goto(dashboard.url);
  await waitFor(
    async () => ((await page.locator('[data-count="completed"]').first().textContent()) ?? '').trim() === '0',
    10_000,
    'the count to drop',
  );
  const gone = await page.goto(`${dashboard.url}jobs/${done}`);
  assert.is(gone?.status(), 404, 'its page is gone');
  assert.equal(
    problems.filter((p) => !p.includes('404')),
    [],
    'no console error and no CSP violation',
  );
});

test.run();
