// The dashboard's Recurring page in headless Chromium: the list, "Trigger now", pause (with the CSRF token and the
// "acting as" name, as retry and cancel).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { runDashboard, type DashboardHandle } from '../../src/dashboard/index.js';
import { launchBrowser, watchProblems } from '../support/browser.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('the dashboard in headless Chromium: the Recurring page');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-schedules-'));
const report = defineWorker({ name: 'nightly-report', action: async () => 'ok' });

let engine: Engine;
let dashboard: DashboardHandle;
let browser: Browser;
let page: Page;
let problems: string[] = [];

test.before(async () => {
  // Not started: this engine only records and reads, so nothing fires but the trigger's run, which it then runs.
  engine = await createEngine({ store: `sqlite:${join(dir, 'events.db')}`, workers: [report] });
  await engine.upsertSchedule('nightly', {
    cron: '30 2 * * *',
    timezone: 'Europe/Berlin',
    workerName: 'nightly-report',
    payload: { to: 'ops' },
  });
  await engine.upsertSchedule('hourly', { cron: '0 * * * *', workerName: 'nightly-report', payload: {} });
  dashboard = await runDashboard({ engine, port: 0 });
  browser = await launchBrowser();
  page = await browser.newPage();
  problems = watchProblems(page);
  page.on('dialog', (d) => void d.accept());
});

test.after(async () => {
  await browser?.close();
  await dashboard?.stop();
  await engine?.close({ gracePeriodMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

const cell = async (id: string, field: string): Promise<string> =>
  ((await page.locator(`[data-schedule-row="${id}"] [data-field="${field}"]`).first().textContent()) ?? '').trim();

test('the nav links to the Recurring page, which lists each schedule with its cron, zone and next run', async () => {
  await page.goto(dashboard.url);
  await page.locator('nav a[href="/schedules"]').click();
  await page.waitForURL(/\/schedules$/);
  assert.is(await page.title(), 'Recurring · jobtrail');
  const rows = await page.locator('[data-schedule-row]').count();
  assert.is(rows, 2);
  const nightly = (await page.locator('[data-schedule-row="nightly"] td').allTextContents()).map((s) => s.trim());
  assert.equal(nightly.slice(0, 5), ['nightly', '30 2 * * *', 'Europe/Berlin', 'nightly-report', 'active']);
  // The time is shown in the browser's zone; its datetime attribute is the exact instant.
  assert.match(
    (await page.locator('[data-schedule-row="nightly"] [data-field="next"] time').getAttribute('datetime')) ?? '',
    /^20\d\d-\d\d-\d\dT0[01]:30:00\.000Z$/,
  );
  assert.is(await cell('nightly', 'last'), '—');
});

test('Trigger now runs it once: the last run links to its job page', async () => {
  await page.locator('#by').fill('ada');
  await page.locator('[data-schedule-row="nightly"] button[data-schedule-action="trigger"]').click();
  await page.locator('#action-result.ok').waitFor({ timeout: 10_000 });
  assert.match((await page.locator('#action-result').textContent()) ?? '', /nightly triggered: job nightly@.* by ada\./);
  const link = page.locator('[data-schedule-row="nightly"] [data-field="last"] a');
  const href = (await link.getAttribute('href')) ?? '';
  assert.match(href, /^\/jobs\/nightly%40\d{4}-/);
  const jobId = decodeURIComponent(href.slice('/jobs/'.length));
  const history = await engine.history(jobId);
  assert.is(history[0]?.event.type, 'JobEnqueued');
  assert.is(history[0]?.metadata.origin, engine.processId);
  await link.click();
  await page.waitForURL(/\/jobs\/nightly/);
  assert.match((await page.locator('[data-field="jobId"]').textContent()) ?? '', /^nightly@/);
});

test('Pause: the schedule shows paused, with no next run, and a Resume button', async () => {
  await page.goto(`${dashboard.url}schedules`);
  await page.locator('[data-schedule-row="hourly"] button[data-schedule-action="pause"]').click();
  await waitFor(async () => (await cell('hourly', 'status')) === 'paused', 10_000, 'the hourly schedule to show paused');
  assert.is(await cell('hourly', 'next'), '—');
  assert.is(await page.locator('[data-schedule-row="hourly"] button[data-schedule-action="resume"]').count(), 1);
  assert.is((await engine.getSchedule('hourly'))?.status, 'paused');
  assert.is(await cell('nightly', 'status'), 'active');
});

test('a post without the CSRF token is refused and changes nothing', async () => {
  const r = await fetch(`${dashboard.url}api/schedules/nightly/pause`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: dashboard.url.replace(/\/$/, '') },
    body: '{}',
  });
  assert.is(r.status, 403);
  assert.is((await engine.getSchedule('nightly'))?.status, 'active');
  assert.equal(problems, []);
});

test.run();
