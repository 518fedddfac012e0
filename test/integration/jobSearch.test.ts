// The console's search (src/projections/jobSearch.ts) on the store the tests run on (SQLite, or EventStoreDB with
// ESDB_URL: node --import tsx test/support/runAgainstFakeEsdb.ts 'integration/jobSearch'): every filter, both
// orders, keyset pages forward and back, and the counts per status under the filters.
import * as t from 'io-ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { createEngine, defineWorker, NonRetryableError, type Engine } from '../../src/index.js';
import type { JobSearch, JobSearchQueries } from '../../src/projections/index.js';
import { waitFor } from '../support/waitFor.js';
import { readyTestStore, testJobId, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

const test = suite(`job search and counts (${testStoreLabel})`);

let offset = -2 * 3_600_000;
const clock = () => new Date(Date.now() + offset);
const ok = defineWorker({ name: 'search-ok', payload: t.type({}), action: async () => 'ok' });
const boom = defineWorker({
  name: 'search-boom',
  queue: 'search-mail',
  payload: t.type({}),
  maxAttempts: 1,
  action: async () => {
    throw new NonRetryableError('no');
  },
});
const flaky = defineWorker({
  name: 'search-flaky',
  payload: t.type({}),
  maxAttempts: 3,
  retryDelay: () => 3_600_000,
  action: async () => {
    throw new Error('later');
  },
});

let engine: Engine;
let store: StoreBackend;
let q: JobSearchQueries;
const id = testJobId;
let boundary = 0;

test.before(async () => {
  await readyTestStore();
  store = await makeStore(testMemoryStoreUrl());
  engine = await createEngine({ store, broker: 'memory', workers: [ok, boom, flaky], now: clock, rememberBroker: false });
  await engine.start();
  // Two hours ago: 5 completed (a-0..a-4) and 2 failed (b-0, b-1).
  for (let i = 0; i < 5; i++) await engine.enqueue(ok, {}, { jobId: id(`a-${i}`) });
  for (let i = 0; i < 2; i++) await engine.enqueue(boom, {}, { jobId: id(`b-${i}`) });
  await engine.waitForFinal([...[0, 1, 2, 3, 4].map((i) => id(`a-${i}`)), id('b-0'), id('b-1')], { timeoutMs: 15_000 });
  offset = 0;
  boundary = Date.now() - 3_600_000;
  // Now: 3 completed (a-5..a-7), one awaiting retry (c-0), one enqueued for later (d-0).
  for (let i = 5; i < 8; i++) await engine.enqueue(ok, {}, { jobId: id(`a-${i}`) });
  await engine.enqueue(flaky, {}, { jobId: id('c-0') });
  await engine.enqueue(ok, {}, { jobId: id('d-0'), runAt: new Date(Date.now() + 3_600_000).toISOString() });
  await engine.waitForFinal(
    [5, 6, 7].map((i) => id(`a-${i}`)),
    { timeoutMs: 15_000 },
  );
  const { queries } = await engine.projections();
  assert.ok(queries.searchJobs && queries.countJobs, 'the read side has the search');
  q = queries as unknown as JobSearchQueries;
  // The read side folds asynchronously: wait until every job is listed in its final state.
  await waitFor(
    async () => {
      const c = await q.countJobs({});
      return c.counts.completed >= 8 && c.counts.failed >= 2 && c.counts.awaiting_retry >= 1 && c.counts.initial >= 1;
    },
    20_000,
    'the projections to fold every job',
  );
});

test.after(async () => {
  await engine?.close({ gracePeriodMs: 0 });
  // The engine was given the store, so it does not own it: an open EventStoreDB client keeps the test process alive.
  await store?.close();
});

const ids = async (s: JobSearch): Promise<string[]> => (await q.searchJobs(s)).jobs.map((j) => j.jobId as string);

const a = (n: number) => id(`a-${n}`);

test('exact id and prefix', async () => {
  assert.equal(await ids({ jobId: a(3) }), [a(3)]);
  assert.equal(await ids({ jobId: `${a(3)}x` }), []);
  const prefix = await ids({ jobIdPrefix: 'a-', workerName: 'search-ok', limit: 100 });
  for (const x of prefix) assert.ok(x.startsWith('a-'), x);
  for (let i = 0; i < 8; i++) assert.ok(prefix.includes(a(i)), `${a(i)} found by its prefix`);
  assert.ok(!(await ids({ jobIdPrefix: 'b-', limit: 100 })).includes(a(0)));
});

test('status (awaiting retry vs failed), worker, queue', async () => {
  assert.ok((await ids({ status: 'awaiting_retry', limit: 100 })).includes(id('c-0')));
  assert.ok(!(await ids({ status: 'failed', limit: 100 })).includes(id('c-0')));
  const failed = await ids({ status: 'failed', workerName: 'search-boom', limit: 100 });
  assert.ok(failed.includes(id('b-0')) && failed.includes(id('b-1')));
  const mail = await ids({ queue: 'search-mail', limit: 100 });
  assert.ok(mail.includes(id('b-0')) && !mail.includes(a(0)));
  assert.equal(await ids({ status: 'completed', jobId: id('b-0') }), []);
});

test('enqueued and finished time ranges', async () => {
  const recent = await ids({ workerName: 'search-ok', enqueuedSince: boundary, limit: 100 });
  assert.ok(recent.includes(a(5)) && recent.includes(id('d-0')) && !recent.includes(a(0)));
  const old = await ids({ workerName: 'search-ok', enqueuedUntil: boundary, limit: 100 });
  assert.ok(old.includes(a(0)) && !old.includes(a(5)));
  const finishedLately = await ids({ workerName: 'search-ok', finishedSince: boundary, limit: 100 });
  assert.ok(
    finishedLately.includes(a(6)) && !finishedLately.includes(a(1)) && !finishedLately.includes(id('d-0')),
    'not finished: not listed',
  );
  const finishedBefore = await ids({ finishedUntil: boundary, jobIdPrefix: 'b-', limit: 100 });
  assert.ok(finishedBefore.includes(id('b-1')));
});

test('both orders, pages forward and back with a page size', async () => {
  const s: JobSearch = { workerName: 'search-ok', jobIdPrefix: 'a-', limit: 3 };
  const all = (await q.searchJobs({ ...s, limit: 100 })).jobs.map((j) => j.jobId as string).filter((x) => /^a-\d/.test(x));
  assert.is(all.length, 8);
  const p1 = await q.searchJobs(s);
  assert.is(p1.prev, undefined, 'the first page has no previous');
  assert.ok(p1.next);
  const p2 = await q.searchJobs({ ...s, cursor: p1.next });
  const p3 = await q.searchJobs({ ...s, cursor: p2.next });
  assert.is(p3.next, undefined, 'the last page has no next');
  const forward = [...p1.jobs, ...p2.jobs, ...p3.jobs].map((j) => j.jobId as string);
  assert.equal(forward, all, 'the pages are the list, in order, each job once');
  const back2 = await q.searchJobs({ ...s, cursor: p3.prev });
  assert.equal(
    back2.jobs.map((j) => j.jobId as string),
    p2.jobs.map((j) => j.jobId as string),
    'previous of page 3 is page 2',
  );
  const back1 = await q.searchJobs({ ...s, cursor: back2.prev });
  assert.equal(
    back1.jobs.map((j) => j.jobId as string),
    p1.jobs.map((j) => j.jobId as string),
    'previous of page 2 is page 1',
  );
  assert.is(back1.prev, undefined, 'back at the first page');
  // Newest first: a-7 before a-0; oldest first the reverse.
  assert.ok(forward.indexOf(a(7)) < forward.indexOf(a(0)));
  const oldest = (await q.searchJobs({ ...s, limit: 100, oldestFirst: true })).jobs.map((j) => j.jobId as string);
  assert.equal(oldest, [...all].reverse());
  let threw: unknown;
  try {
    await q.searchJobs({ ...s, oldestFirst: true, cursor: p1.next });
  } catch (error) {
    threw = error;
  }
  assert.ok(threw instanceof Error && /cursor/.test(threw.message), 'a cursor of the other order is refused');
});

test('counts per status under the other filters', async () => {
  const c = await q.countJobs({ jobIdPrefix: 'a-', workerName: 'search-ok' });
  assert.is(c.counts.completed, 8);
  assert.is(c.counts.failed, 0);
  assert.is(c.total, 8);
  assert.ok(c.complete);
  const recent = await q.countJobs({ jobIdPrefix: 'b-', finishedUntil: boundary });
  assert.is(recent.counts.failed, 2);
  assert.is(recent.total, 2);
  const retry = await q.countJobs({ jobId: id('c-0') });
  assert.is(retry.counts.awaiting_retry, 1);
  assert.is(retry.counts.failed, 0);
});

test.run();
