// The jobs list as a console (docs/dashboard.md), in headless Chromium, on the store the tests run on (SQLite, or
// EventStoreDB with ESDB_URL: node --import tsx test/support/runAgainstFakeEsdb.ts 'e2e/dashboardConsole'):
// search by id (exact and prefix), each filter, sort, pages forward and back with a page size, tab counts under a
// filter, bulk retry and cancel with the per-job report, only valid actions, times in the browser's zone.
// Screenshots: test-output/dashboard/console-list.png and console-job.png.
import { randomUUID } from 'node:crypto';
import * as t from 'io-ts';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { runDashboard, type DashboardHandle } from '../../src/dashboard/index.js';
import { createEngine, defineWorker, NonRetryableError, type Engine } from '../../src/index.js';
import { launchBrowser, saveScreenshot, watchProblems } from '../support/browser.js';
import { readyTestStore, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';
import { waitFor } from '../support/waitFor.js';

const test = suite(`the dashboard console in headless Chromium (${testStoreLabel})`);
// Every job id starts with this run's tag: a prefix search on it sees this suite's jobs only, on any store.
const R = `c${randomUUID().slice(0, 6)}`;
const pad = (n: number) => String(n).padStart(2, '0');

let offset = -2 * 3_600_000;
const clock = () => new Date(Date.now() + offset);
const ok = defineWorker({ name: 'console-ok', payload: t.type({}), action: async () => ({ done: true }) });
const boom = defineWorker({
  name: 'console-boom',
  queue: 'console-mail',
  payload: t.type({}),
  maxAttempts: 1,
  action: async () => {
    throw new NonRetryableError('the mail server said no');
  },
});
const flaky = defineWorker({
  name: 'console-flaky',
  payload: t.type({}),
  maxAttempts: 3,
  retryDelay: () => 3_600_000,
  action: async () => {
    throw new Error('try later');
  },
});

let store: StoreBackend;
let engine: Engine;
let dashboard: DashboardHandle;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[] = [];

const url = (path: string) => `${dashboard.url}${path.replace(/^\//, '')}`;
const rows = async () => page.locator('table.jobs tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job') ?? ''));
const tabCount = async (status: string) => ((await page.locator(`[data-tab-count="${status}"]`).textContent()) ?? '').trim();
/** Opens `path` until `check` holds (the read side folds asynchronously). */
const openUntil = async (path: string, check: () => Promise<boolean>, what: string) =>
  waitFor(
    async () => {
      await page.goto(url(path));
      return check();
    },
    20_000,
    what,
  );

test.before(async () => {
  await readyTestStore();
  store = await makeStore(testMemoryStoreUrl());
  engine = await createEngine({ store, broker: 'memory', workers: [ok, boom, flaky], now: clock, rememberBroker: false });
  await engine.start();
  // Two hours ago: ok-00..05 completed, bad-0 and bad-1 failed (queue console-mail).
  for (let i = 0; i < 6; i++) await engine.enqueue(ok, {}, { jobId: `${R}-ok-${pad(i)}` });
  for (let i = 0; i < 2; i++) await engine.enqueue(boom, {}, { jobId: `${R}-bad-${i}` });
  await engine.waitForFinal([...[0, 1, 2, 3, 4, 5].map((i) => `${R}-ok-${pad(i)}`), `${R}-bad-0`, `${R}-bad-1`], { timeoutMs: 15_000 });
  offset = 0;
  // Now: ok-06..11 completed, retry-0 awaiting retry, later-0 enqueued for in an hour.
  for (let i = 6; i < 12; i++) await engine.enqueue(ok, {}, { jobId: `${R}-ok-${pad(i)}` });
  await engine.enqueue(flaky, {}, { jobId: `${R}-retry-0` });
  await engine.enqueue(ok, {}, { jobId: `${R}-later-0`, runAt: new Date(Date.now() + 3_600_000).toISOString() });
  await engine.waitForFinal(
    [6, 7, 8, 9, 10, 11].map((i) => `${R}-ok-${pad(i)}`),
    { timeoutMs: 15_000 },
  );
  dashboard = await runDashboard({ engine, port: 0 });
  browser = await launchBrowser();
  // A zone far from UTC, so that the local times differ from the UTC ones.
  context = await browser.newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
  page = await context.newPage();
  problems = watchProblems(page);
  await page.goto(url('/'));
  await page.evaluate("localStorage.setItem('jobtrail.by', 'ada')");
  // Wait until the read side lists every job where it belongs.
  await openUntil(
    `/jobs?id=${R}-`,
    async () =>
      (await tabCount('completed')) === '12' &&
      (await tabCount('failed')) === '2' &&
      (await tabCount('awaiting_retry')) === '1' &&
      (await tabCount('initial')) === '1',
    'every job in its list',
  );
});

test.after(async () => {
  await context?.close();
  await browser?.close();
  await dashboard?.stop();
  await engine?.close({ gracePeriodMs: 0 });
  // Given to the engine, so not closed by it: an open EventStoreDB client would keep the test process alive.
  await store?.close();
});

test('search by id: a prefix, and exactly one id; the state is in the URL and survives a reload', async () => {
  await page.goto(url(`/jobs?id=${R}-ok-0`));
  const prefixed = await rows();
  assert.equal(
    [...prefixed].sort(),
    [...Array(10).keys()].map((i) => `${R}-ok-${pad(i)}`),
  );
  await page.fill('input[name="id"]', `${R}-ok-03`);
  await page.selectOption('select[name="match"]', 'exact');
  await Promise.all([page.waitForURL(/match=exact/), page.click('#console-filter button[type="submit"]')]);
  assert.equal(await rows(), [`${R}-ok-03`]);
  const u = new URL(page.url());
  assert.is(u.searchParams.get('id'), `${R}-ok-03`);
  await page.reload();
  assert.equal(await rows(), [`${R}-ok-03`], 'the same view after a reload');
  assert.is(await page.inputValue('input[name="id"]'), `${R}-ok-03`);
});

test('filters: worker, queue, status (the dashboard words and the CLI ones), time ranges; tab counts follow them', async () => {
  await page.goto(url(`/jobs?id=${R}-`));
  // A select submits the form by itself.
  await Promise.all([page.waitForURL(/worker=console-boom/), page.selectOption('select[name="worker"]', 'console-boom')]);
  assert.equal([...(await rows())].sort(), [`${R}-bad-0`, `${R}-bad-1`]);
  assert.is(await tabCount('failed'), '2', 'the failed tab counts under the worker filter');
  assert.is(await tabCount('completed'), '0', 'no completed job of that worker');
  assert.is(await tabCount('all'), '2');

  await page.goto(url(`/jobs?id=${R}-&queue=console-mail`));
  assert.equal([...(await rows())].sort(), [`${R}-bad-0`, `${R}-bad-1`]);

  for (const word of ['awaiting_retry', 'awaiting-retry']) {
    await page.goto(url(`/jobs?id=${R}-&status=${word}`));
    assert.equal(await rows(), [`${R}-retry-0`], `status=${word}`);
    assert.is(await page.locator('nav.tabs a.active').getAttribute('data-tab'), 'awaiting_retry');
  }
  await page.goto(url(`/jobs?id=${R}-&status=failed`));
  assert.equal([...(await rows())].sort(), [`${R}-bad-0`, `${R}-bad-1`]);
  const bad = await page.goto(url('/jobs?status=errorred'));
  assert.is(bad?.status(), 400);
  assert.match((await page.textContent('body')) ?? '', 'awaiting-retry', 'the refusal lists the words');

  await page.goto(url(`/jobs?id=${R}-&enqueuedSince=1h`));
  assert.is((await rows()).length, 8, 'six completed, one awaiting retry, one enqueued: the last hour');
  assert.is(await tabCount('completed'), '6');
  assert.is(await tabCount('initial'), '1');
  await page.goto(url(`/jobs?id=${R}-&enqueuedUntil=1h`));
  assert.is((await rows()).length, 8, 'six completed and two failed: before the last hour');
  await page.goto(url(`/jobs?id=${R}-&finishedSince=1h`));
  assert.equal(
    [...(await rows())].sort(),
    [...Array(6).keys()].map((i) => `${R}-ok-${pad(i + 6)}`),
    'finished in the last hour',
  );
  await page.goto(url(`/jobs?id=${R}-&finishedUntil=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`));
  assert.is((await rows()).length, 8, 'finished before an hour ago (an ISO time)');
  const badTime = await page.goto(url('/jobs?enqueuedSince=yesterday'));
  assert.is(badTime?.status(), 400);
});

test('sort both ways; pages forward and back with a page size, by cursor', async () => {
  await page.goto(url(`/jobs?id=${R}-ok-&limit=5`));
  assert.is(await page.inputValue('select[name="limit"]'), '5');
  const p1 = await rows();
  assert.equal(
    p1,
    [11, 10, 9, 8, 7].map((i) => `${R}-ok-${pad(i)}`),
    'newest first',
  );
  assert.is(await page.locator('a[data-page="prev"]').count(), 0, 'no previous page on the first');
  await page.click('a[data-page="next"]');
  const p2 = await rows();
  assert.equal(
    p2,
    [6, 5, 4, 3, 2].map((i) => `${R}-ok-${pad(i)}`),
  );
  assert.match(page.url(), /cursor=/);
  await page.click('a[data-page="next"]');
  assert.equal(
    await rows(),
    [1, 0].map((i) => `${R}-ok-${pad(i)}`),
  );
  assert.is(await page.locator('a[data-page="next"]').count(), 0, 'no next page on the last');
  await page.click('a[data-page="prev"]');
  assert.equal(await rows(), p2, 'back to page 2');
  await page.reload();
  assert.equal(await rows(), p2, 'a page link reloads as the same page');
  await page.click('a[data-page="prev"]');
  assert.equal(await rows(), p1, 'back to page 1');
  assert.is(await page.locator('a[data-page="prev"]').count(), 0);

  await Promise.all([page.waitForURL(/sort=oldest/), page.selectOption('select[name="sort"]', 'oldest')]);
  assert.is(new URL(page.url()).search, `?id=${R}-ok-&sort=oldest&limit=5`, 'the URL keeps only what is set');
  assert.equal(
    await rows(),
    [0, 1, 2, 3, 4].map((i) => `${R}-ok-${pad(i)}`),
    'oldest first',
  );
  await page.click('a[data-page="next"]');
  assert.equal(
    await rows(),
    [5, 6, 7, 8, 9].map((i) => `${R}-ok-${pad(i)}`),
  );
});

test('only the valid actions: on the job pages and on the lists', async () => {
  const visible = async (action: string) => page.locator(`section.actions button[data-action="${action}"]:visible`).count();
  await page.goto(url(`/jobs/${R}-ok-00`));
  assert.equal([await visible('retry'), await visible('cancel'), await visible('purge')], [0, 0, 1], 'completed: purge only');
  await page.goto(url(`/jobs/${R}-bad-1`));
  assert.equal([await visible('retry'), await visible('cancel'), await visible('purge')], [1, 0, 1], 'failed: retry and purge');
  await page.goto(url(`/jobs/${R}-retry-0`));
  assert.equal([await visible('retry'), await visible('cancel'), await visible('purge')], [0, 1, 0], 'awaiting retry: cancel');
  await page.goto(url(`/jobs?id=${R}-&status=completed`));
  const offered = await page
    .locator('section.bulk button[data-bulk-action]')
    .evaluateAll((bs) => [...new Set(bs.map((b) => b.getAttribute('data-bulk-action')))]);
  assert.equal(offered, ['purge'], 'the completed list offers purge only');
  assert.is(await page.locator(`tr[data-job="${R}-ok-00"]`).getAttribute('data-actions'), 'purge');
});

test('times: <time datetime> with the exact UTC on hover, shown in the browser zone with a relative time, on one line', async () => {
  await page.goto(url(`/jobs/${R}-ok-07`));
  const times = await page.locator('time').evaluateAll((els) =>
    els.map((el) => ({
      datetime: el.getAttribute('datetime'),
      title: el.getAttribute('title'),
      text: el.textContent ?? '',
      wrap: (globalThis as unknown as { getComputedStyle(e: unknown): { whiteSpace: string } }).getComputedStyle(el).whiteSpace,
    })),
  );
  assert.ok(times.length >= 4, 'the job page shows its times');
  for (const tm of times) {
    assert.ok(tm.datetime !== null && !Number.isNaN(Date.parse(tm.datetime)), `datetime ${tm.datetime}`);
    const utc = new Date(Date.parse(tm.datetime as string)).toISOString();
    assert.is(tm.title, `${utc.slice(0, 10)} ${utc.slice(11, 23)} UTC`, 'the exact UTC time on hover');
    assert.is(tm.wrap, 'nowrap');
    assert.match(tm.text, /ago|now|sec|min/, `a relative time in "${tm.text}"`);
    const tokyoHour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit', hourCycle: 'h23' }).format(
      new Date(tm.datetime as string),
    );
    assert.ok(tm.text.includes(`${tokyoHour}:`), `the browser's zone (Tokyo ${tokyoHour}h) in "${tm.text}"`);
  }
  await saveScreenshot(page, 'console-job', 'dashboard-console-job.png');
  // Without the script, the text is the UTC time.
  const raw = await (await fetch(url(`/jobs/${R}-ok-07`))).text();
  assert.match(raw, /<time datetime="[^"]+" title="[^"]+ UTC">\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC<\/time>/);
});

test("a bulk action is protected as every action is: same origin, and the page's CSRF token", async () => {
  const post = (headers: Record<string, string>, body: unknown) =>
    fetch(url('/api/bulk/retry'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const noCsrf = await post({}, { jobIds: [`${R}-bad-0`] });
  assert.is(noCsrf.status, 403);
  assert.match(await noCsrf.text(), 'CSRF');
  await page.goto(url('/jobs'));
  const csrf = (await page.locator('meta[name="jobtrail-csrf"]').getAttribute('content')) ?? '';
  const crossSite = await post({ origin: 'http://evil.example', 'x-jobtrail-csrf': csrf }, { jobIds: [`${R}-bad-0`] });
  assert.is(crossSite.status, 403);
  const empty = await post({ 'x-jobtrail-csrf': csrf }, { jobIds: [] });
  assert.is(empty.status, 400);
  assert.is((await engine.history(`${R}-bad-0`)).filter((e) => e.event.type === 'JobReset').length, 0, 'nothing was done');
});

test('bulk: cancel a selection (one done, one refused with the reason), retry every failed job matching the filter', async () => {
  await page.goto(url(`/jobs?id=${R}-`));
  await page.check(`tr[data-job="${R}-later-0"] input.pick-job`);
  await page.check(`tr[data-job="${R}-ok-11"] input.pick-job`);
  assert.is(await page.locator('#selected-count').getAttribute('data-selected'), '2');
  assert.ok(await page.locator('button[data-bulk-action="cancel"][data-scope="selected"]').isEnabled());
  let question = '';
  page.once('dialog', (d) => {
    question = d.message();
    void d.accept();
  });
  await page.fill('#bulk-reason', 'not needed');
  await page.click('button[data-bulk-action="cancel"][data-scope="selected"]');
  await page.locator('[data-bulk-summary]').waitFor();
  assert.match(question, 'Cancel 2 selected jobs as "ada"?');
  assert.is(await page.locator(`tr[data-outcome-job="${R}-later-0"]`).getAttribute('data-outcome'), 'done');
  assert.is(await page.locator(`tr[data-outcome-job="${R}-ok-11"]`).getAttribute('data-outcome'), 'refused');
  assert.match((await page.locator(`tr[data-outcome-job="${R}-ok-11"]`).textContent()) ?? '', 'cannot cancel');
  assert.is((await engine.getJob(`${R}-later-0`))?.status, 'cancelled');
  assert.is((await engine.getJob(`${R}-later-0`))?.cancelReason, 'not needed');

  await openUntil(
    `/jobs?id=${R}-bad-&status=failed`,
    async () => (await page.locator('section.bulk').getAttribute('data-matching')) === '2',
    'two failed',
  );
  await saveScreenshot(page, 'console-list', 'dashboard-console.png');
  page.once('dialog', (d) => {
    question = d.message();
    void d.accept();
  });
  await page.click('button[data-bulk-action="retry"][data-scope="matching"]');
  await page.locator('[data-bulk-summary]').waitFor();
  assert.match(question, 'Retry all 2 jobs matching this filter as "ada"?');
  assert.match((await page.locator('[data-bulk-summary]').textContent()) ?? '', '2 done, 0 refused');
  for (const i of [0, 1]) assert.is(await page.locator(`tr[data-outcome-job="${R}-bad-${i}"]`).getAttribute('data-outcome'), 'done');
  // Each was retried (a reset by ada), ran again and failed again.
  await waitFor(
    async () =>
      (await engine.history(`${R}-bad-0`)).some((e) => e.event.type === 'JobReset' && (e.event.data as { by?: string }).by === 'ada'),
    10_000,
    'the reset recorded',
  );
  assert.equal(
    problems.filter((p) => !p.includes('status of 400')),
    [],
    'no console error (but the two bad URLs this suite opens on purpose)',
  );
});

test.run();
