// The dashboard's Queues page in headless Chromium (docs/queues.md): each queue with its state, depth and consumers,
// "no consumer" for a queue nothing takes, Pause and Resume (with the CSRF token, the "acting as" name and a reason).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { runDashboard, type DashboardHandle } from '../../src/dashboard/index.js';
import { makeEmbeddedEventStore } from '../../src/eventStore/embedded/embeddedEventStore.js';
import { launchBrowser, saveScreenshot, watchProblems } from '../support/browser.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('the dashboard in headless Chromium: the Queues page');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-dashboard-queues-'));
const file = join(dir, 'events.db');
const work = `mails-${randomUUID().slice(0, 6)}`;
const orphan = `reports-${randomUUID().slice(0, 6)}`;
const mailer = defineWorker({ name: 'mailer', queue: work, action: async () => 'sent' });
// Registered nowhere: its jobs go to a queue no process consumes.
const reporter = defineWorker({ name: 'reporter', queue: orphan, action: async () => 'done' });

let engine: Engine;
let dashboard: DashboardHandle;
let browser: Browser;
let page: Page;
let problems: string[] = [];

test.before(async () => {
  // Started: it consumes `work`, so the page shows its depth and one consumer.
  engine = await createEngine({ store: `sqlite:${file}`, workers: [mailer], sweepIntervalMs: 0 });
  await engine.start();
  await engine.enqueue(reporter, { n: 1 });
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

const field = async (queue: string, name: string): Promise<string> =>
  ((await page.locator(`[data-queue-row="${queue}"] [data-field="${name}"]`).first().textContent()) ?? '').trim();

test('the nav links to the Queues page: the worker’s queue runs, the queue nobody consumes says so', async () => {
  await page.goto(dashboard.url);
  await page.locator('nav a[href="/queues"]').click();
  await page.waitForURL(/\/queues$/);
  assert.is(await page.title(), 'Queues · jobtrail');
  assert.is(await field(work, 'state'), 'running');
  assert.is(await field(work, 'consumers'), '1');
  assert.is(await field(orphan, 'state'), 'no consumer');
  assert.is(await field(orphan, 'consumers'), '0');
});

test('Pause with a reason: shown paused, by whom and why, recorded in the queue stream; Resume brings it back', async () => {
  await page.locator('#by').fill('ada');
  await page.locator('#queue-reason').fill('mail server maintenance');
  await page.locator(`[data-queue-row="${work}"] button[data-queue-action="pause"]`).click();
  await page.locator('#action-result.ok').waitFor({ timeout: 10_000 });
  assert.match((await page.locator('#action-result').textContent()) ?? '', `Queue ${work} paused by ada.`);
  assert.is(await field(work, 'state'), 'paused');
  assert.match(await field(work, 'paused-by'), /^by ada since .*: mail server maintenance$/);
  assert.is(await field(work, 'consumers'), '0');
  await saveScreenshot(page, 'queues-paused');
  const info = (await engine.listQueues()).find((q) => q.name === work);
  assert.equal([info?.paused, info?.pausedBy, info?.pauseReason], [true, 'ada', 'mail server maintenance']);
  // The record, read with a store of its own.
  const store = makeEmbeddedEventStore({ path: file });
  const events = await store.readStream(`queue-${work}`)();
  await store.close();
  assert.ok(E.isRight(events));
  assert.equal(
    E.isRight(events)
      ? events.right.map((e) => [e.type, e.data, e.metadata['by']]).map((x) => [x[0], (x[1] as { by?: string }).by, x[2]])
      : [],
    [['QueuePaused', 'ada', 'ada']],
  );
  // A job enqueued now waits; Resume runs it.
  const waiting = await engine.enqueue(mailer, {});
  assert.match(waiting.warnings?.[0] ?? '', /is paused by ada/);
  await page.locator(`[data-queue-row="${work}"] button[data-queue-action="resume"]`).click();
  await waitFor(async () => (await field(work, 'state')) === 'running', 10_000, 'the queue to show running');
  const [done] = await engine.waitForFinal([waiting.jobId], { timeoutMs: 10_000 });
  assert.is(done?.status, 'completed');
});

test('a post without the CSRF token is refused and changes nothing; a bad queue name is a 400', async () => {
  const origin = dashboard.url.replace(/\/$/, '');
  const r = await fetch(`${dashboard.url}api/queues/${work}/pause`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: '{}',
  });
  assert.is(r.status, 403);
  assert.is((await engine.listQueues()).find((q) => q.name === work)?.paused, false);
  const bad = await fetch(`${dashboard.url}api/queues/${encodeURIComponent('no way')}/pause`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: '{}',
  });
  assert.is(bad.status, 400);
  assert.equal(problems, []);
});

test.run();
