// Retention, purge and bulk actions (docs/retention.md), store-independent: on the embedded store, and on the
// EventStoreDB server ESDB_URL names (the fake node with `node --import tsx test/support/runAgainstFakeEsdb.ts
// 'integration/retention'`). Each test has its own worker name, so a list narrowed to it holds only its jobs.
import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { purgeStreamName, type JobsPurgedData } from '../../src/conductor/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { defineWorker, NonRetryableError } from '../../src/worker/index.js';
import { readyTestStore, testJobId, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';
import { waitFor } from '../support/waitFor.js';

interface Ctx {
  store: StoreBackend;
  engines: Engine[];
  now: Date;
}

const test = suite<Ctx>(`retention, purge and bulk actions (${testStoreLabel}, in-process broker)`);
test.before(() => readyTestStore());
test.before.each(async (ctx) => {
  ctx.store = await makeStore(testMemoryStoreUrl());
  ctx.engines = [];
  ctx.now = new Date();
});
test.after.each(async (ctx) => {
  for (const e of ctx.engines) await e.close({ gracePeriodMs: 0 });
  await ctx.store.close();
});

/** Workers of one test: `ok` completes, `bad` fails for good, both under names of their own. */
const workersOf = () => {
  const tag = randomUUID().slice(0, 8);
  const ok = defineWorker({ name: `ok-${tag}`, action: async () => ({ fine: true }) });
  const bad = defineWorker({
    name: `bad-${tag}`,
    action: async () => {
      throw new NonRetryableError('no');
    },
  });
  return { ok, bad };
};

const engineOf = async (ctx: Ctx, workers: ReturnType<typeof workersOf>, extra: Partial<Parameters<typeof createEngine>[0]> = {}) => {
  const engine = await createEngine({
    store: ctx.store,
    broker: 'memory',
    workers: [workers.ok, workers.bad],
    now: () => ctx.now,
    sweepIntervalMs: 0,
    heartbeatIntervalMs: 0,
    rememberBroker: false,
    ...extra,
  });
  ctx.engines.push(engine);
  return engine;
};

const readPurges = async (store: StoreBackend, at: Date): Promise<JobsPurgedData[]> => {
  const r = await store.readStream(purgeStreamName(at))();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right.filter((e) => e.type === 'JobsPurged').map((e) => e.data as JobsPurgedData);
};

const streamLength = async (store: StoreBackend, jobId: string): Promise<number> => {
  const r = await store.readStream(`job-${jobId}`)();
  return E.isRight(r) ? r.right.length : -1;
};

test('purge: a final job is gone from its stream, the lists and the current counts; recorded with who, when and why', async (ctx) => {
  const w = workersOf();
  const engine = await engineOf(ctx, w);
  await engine.start();
  const done = testJobId(`done-${randomUUID()}`);
  const failed = testJobId(`failed-${randomUUID()}`);
  await engine.enqueue(w.ok, {}, { jobId: done });
  await engine.enqueue(w.bad, {}, { jobId: failed });
  await engine.waitForFinal([done, failed], { timeoutMs: 10_000 });
  await waitFor(async () => (await engine.listJobs({ workerName: w.ok.name })).length === 1, 10_000, 'the job listed');
  const { queries } = await engine.projections();
  const before = (await queries.getState('job-dashboard')) as { counts: { completed: number } };

  const report = await engine.purge([done, failed], { by: 'ada', reason: 'tidy up' });
  assert.equal(
    report.outcomes.map((o) => o.outcome),
    ['purged', 'purged'],
  );
  assert.is(report.done, 2);
  assert.is(report.undeleted, 0);
  assert.is(await engine.getJob(done), undefined);
  assert.is(await streamLength(ctx.store, done), 0, 'the stream is deleted');
  assert.is(await streamLength(ctx.store, failed), 0);
  assert.equal(await engine.listJobs({ workerName: w.ok.name }), []);
  assert.equal(await engine.listJobs({ workerName: w.bad.name }), []);
  const after = (await queries.getState('job-dashboard')) as {
    counts: { completed: number };
    purged?: number;
    workers: Record<string, { completed: number }>;
  };
  assert.is(after.counts.completed, before.counts.completed - 1, 'the completed count is current: the purged job left it');
  assert.is(after.workers[w.ok.name]?.completed, 1, "the worker's total stays (statistics)");
  const records = (await readPurges(ctx.store, ctx.now)).filter((r) => r.jobIds.includes(done));
  assert.is(records.length, 1);
  assert.is(records[0]!.by, 'ada');
  assert.is(records[0]!.reason, 'tidy up');
  assert.is(records[0]!.count, 2);
  assert.ok(records[0]!.at);

  // The id may be used again: a new job.
  const again = await engine.enqueue(w.ok, {}, { jobId: done });
  assert.is(again.created, true);
  const [view] = await engine.waitForFinal([done], { timeoutMs: 10_000 });
  assert.is(view?.status, 'completed');
});

test('purge refuses what is not final, a parent its continuation awaits, and an unknown id, each with the reason', async (ctx) => {
  const w = workersOf();
  const engine = await engineOf(ctx, w);
  await engine.start();
  const waiting = testJobId(`waiting-${randomUUID()}`);
  const parent = testJobId(`parent-${randomUUID()}`);
  const child = testJobId(`child-${randomUUID()}`);
  const other = testJobId(`other-${randomUUID()}`);
  await engine.enqueue(w.ok, {}, { jobId: waiting, runAt: new Date(Date.now() + 3_600_000).toISOString() });
  await engine.enqueue(w.ok, {}, { jobId: other, runAt: new Date(Date.now() + 3_600_000).toISOString() });
  // The child waits for two parents: one done, one not yet.
  await engine.enqueue(w.ok, {}, { jobId: parent });
  await engine.waitForFinal([parent], { timeoutMs: 10_000 });
  await engine.enqueue(w.ok, {}, { jobId: child, after: [parent, other] });
  assert.is((await engine.getJob(child))?.status, 'awaiting');

  const report = await engine.purge([waiting, parent, 'no-such-job'], { by: 'ada' });
  assert.equal(
    report.outcomes.map((o) => o.outcome),
    ['refused', 'refused', 'refused'],
  );
  assert.match(report.outcomes[0]!.reason!, /it is initial; only completed, cancelled or failed-for-good jobs can be purged/);
  assert.match(report.outcomes[1]!.reason!, new RegExp(`continuation "${child}" still waits for it`));
  assert.match(report.outcomes[2]!.reason!, /does not exist/);
  assert.is((await engine.getJob(parent))?.status, 'completed', 'nothing was recorded');
  assert.is((await readPurges(ctx.store, ctx.now)).filter((r) => r.jobIds.includes(parent)).length, 0);

  // A dry run says what would go, and changes nothing.
  await engine.cancel(other, { by: 'ada' });
  await waitFor(
    async () => (await engine.listJobs({ workerName: w.ok.name, status: 'cancelled' })).length === 2,
    10_000,
    'the job and its continuation listed as cancelled',
  );
  const dry = await engine.purge({ workerName: w.ok.name, status: 'cancelled' }, { dryRun: true });
  // Its continuation was cancelled with it (docs/continuations.md): final too.
  assert.equal(new Set(dry.outcomes.map((o) => `${o.jobId} ${o.outcome}`)), new Set([`${other} would purge`, `${child} would purge`]));
  assert.is((await engine.getJob(other))?.status, 'cancelled');
});

test('retention (injected clock): completed after a day, failed after a week, forever keeps; a second engine at once purges nothing twice', async (ctx) => {
  const w = workersOf();
  const engine = await engineOf(ctx, w);
  const second = await engineOf(ctx, w);
  await engine.start();
  const done = testJobId(`done-${randomUUID()}`);
  const failed = testJobId(`failed-${randomUUID()}`);
  await engine.enqueue(w.ok, {}, { jobId: done });
  await engine.enqueue(w.bad, {}, { jobId: failed });
  await engine.waitForFinal([done, failed], { timeoutMs: 10_000 });
  await waitFor(async () => (await engine.listJobs({ workerName: w.bad.name })).length === 1, 10_000, 'the jobs listed');

  ctx.now = new Date(ctx.now.getTime() + 23 * 3_600_000);
  await engine.runRetention();
  assert.is((await engine.getJob(done))?.status, 'completed', 'kept for a day');

  ctx.now = new Date(ctx.now.getTime() + 2 * 3_600_000);
  const [a, b] = await Promise.all([engine.runRetention(), second.runRetention()]);
  assert.is(await engine.getJob(done), undefined, 'completed and older than a day: purged');
  assert.is(await streamLength(ctx.store, done), 0);
  assert.is((await engine.getJob(failed))?.status, 'errored', 'a failed job is kept a week');
  const purgedDone = (await readPurges(ctx.store, ctx.now)).filter((r) => r.jobIds.includes(done));
  assert.ok(purgedDone.length >= 1 && purgedDone.every((r) => r.retention === true && r.by === 'retention'));
  assert.ok(a.purged + b.purged >= 1);

  const keeper = await engineOf(ctx, w, { retention: 'forever' });
  ctx.now = new Date(ctx.now.getTime() + 8 * 86_400_000);
  assert.equal((await keeper.runRetention()).purged, 0, 'forever: nothing purged');
  assert.is((await engine.getJob(failed))?.status, 'errored');
  await engine.runRetention();
  assert.is(await engine.getJob(failed), undefined, 'failed and older than a week: purged');
});

test('bulk retry and cancel by filter: one outcome per job, refusals with the reason', async (ctx) => {
  const w = workersOf();
  const engine = await engineOf(ctx, w);
  await engine.start();
  const failed = [testJobId(`f1-${randomUUID()}`), testJobId(`f2-${randomUUID()}`)];
  for (const jobId of failed) await engine.enqueue(w.bad, {}, { jobId });
  await engine.waitForFinal(failed, { timeoutMs: 10_000 });
  await waitFor(
    async () => (await engine.listJobs({ workerName: w.bad.name, status: 'errored' })).length === 2,
    10_000,
    'the failed jobs listed',
  );
  const later = testJobId(`later-${randomUUID()}`);
  await engine.enqueue(w.ok, {}, { jobId: later, runAt: new Date(Date.now() + 3_600_000).toISOString() });

  const retried = await engine.retryMany({ status: 'errored', workerName: w.bad.name }, { by: 'ada' });
  assert.is(retried.done, 2);
  assert.equal(new Set(retried.outcomes.map((o) => o.jobId)), new Set(failed));
  assert.ok(retried.outcomes.every((o) => o.outcome === 'retried'));
  await waitFor(
    async () => (await Promise.all(failed.map((id) => engine.getJob(id)))).every((v) => v?.status === 'errored' && v.attempts === 2),
    10_000,
    'both retried and failed again',
  );

  const cancelled = await engine.cancelMany([later, failed[0]!, 'no-such-job'], { by: 'ada', reason: 'bulk' });
  assert.equal(
    cancelled.outcomes.map((o) => o.outcome),
    ['cancelled', 'cancelled', 'refused'],
  );
  assert.is(cancelled.refused, 1);
  assert.match(cancelled.outcomes[2]!.reason!, /does not exist/);
  assert.is((await engine.getJob(later))?.cancelReason, 'bulk');
  const bad = await engine.purge({ status: 'nope' as never }).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.instance(bad, TypeError, 'a bad filter is refused before anything is done');
  assert.match((bad as Error).message, /status: "nope" is not a status/);
});

test('bulk filters take the words people read: failed (no retry left) and awaiting_retry (one planned)', async (ctx) => {
  const w = workersOf();
  const tag = randomUUID().slice(0, 8);
  const flaky = defineWorker({
    name: `flaky-${tag}`,
    maxAttempts: 5,
    retryDelay: () => 3_600_000, // the retry waits an hour: the job stays awaiting retry
    action: async () => {
      throw new Error('later');
    },
  });
  const engine = await createEngine({
    store: ctx.store,
    broker: 'memory',
    workers: [w.ok, w.bad, flaky],
    sweepIntervalMs: 0,
    heartbeatIntervalMs: 0,
    rememberBroker: false,
  });
  ctx.engines.push(engine);
  await engine.start();
  const failed = testJobId(`failed-${randomUUID()}`);
  const waiting = testJobId(`waiting-${randomUUID()}`);
  await engine.enqueue(w.bad, {}, { jobId: failed });
  await engine.enqueue(flaky, {}, { jobId: waiting });
  await waitFor(
    async () => {
      const [f, r] = await Promise.all([engine.getJob(failed), engine.getJob(waiting)]);
      return f?.status === 'errored' && f.retryAt === undefined && r?.status === 'errored' && r.retryAt !== undefined;
    },
    10_000,
    'one failed, one awaiting retry',
  );
  await waitFor(async () => (await engine.listJobs({ status: 'errored' })).some((v) => v.jobId === waiting), 10_000, 'both listed');

  // awaiting_retry nominates the job with a retry planned, never the failed one (and the reverse).
  const cancelled = await engine.cancelMany({ status: 'awaiting_retry', workerName: flaky.name }, { by: 'ada' });
  assert.equal(
    cancelled.outcomes.map((o) => [o.jobId, o.outcome]),
    [[waiting, 'cancelled']],
  );
  assert.equal((await engine.cancelMany({ status: 'awaiting_retry', workerName: w.bad.name }, { by: 'ada' })).outcomes, []);
  const retried = await engine.retryMany({ status: 'failed', workerName: w.bad.name }, { by: 'ada' });
  assert.equal(
    retried.outcomes.map((o) => [o.jobId, o.outcome]),
    [[failed, 'retried']],
  );
  assert.equal((await engine.retryMany({ status: 'failed', workerName: flaky.name }, { by: 'ada' })).outcomes, []);
});

test.run();
