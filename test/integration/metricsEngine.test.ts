// createEngine({ metrics: { registry } }) (docs/metrics.md): what one engine counts in its own process, and what it
// answers at scrape time.
import { Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine } from '../../src/index.js';
import { makeSleeper } from '../fixtures/workers.js';
import { parseProm, sampleValue } from '../support/promText.js';
import { esdbUrl, readyTestStore, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';
import { waitFor } from '../support/waitFor.js';

const test = suite(`metrics of an engine (${testStoreLabel})`);
test.before(() => readyTestStore());
const engines: Engine[] = [];
test.after.each(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close({ gracePeriodMs: 0 })));
});

const scrape = async (registry: Registry) => parseProm(await registry.metrics());

test('enqueues, attempts, cancels and appends are counted; queues and projection lag answer at scrape time', async () => {
  const registry = new Registry();
  const worker = makeSleeper('metrics-q');
  const engine = await createEngine({ store: testMemoryStoreUrl(), workers: [worker], metrics: { registry, jobCounts: true } });
  engines.push(engine);
  assert.is(engine.metrics, registry);
  const wq = { worker: 'sleeper', queue: 'metrics-q' };
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const waiting = await engine.enqueue('sleeper', {}, { runAt: later });
  await engine.enqueue('sleeper', {}, { jobId: waiting.jobId, runAt: later }); // the same id: not a new job
  await engine.cancel(waiting.jobId);
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await engine.enqueue('sleeper', { ms: 5 })).jobId);
  await engine.start();
  await engine.waitForFinal(ids, { timeoutMs: 20_000 });
  await waitFor(async () => sampleValue(await scrape(registry), 'jobtrail_jobs_completed_total', wq) === 3, 10_000, 'three completions');
  const s = await scrape(registry);
  assert.is(sampleValue(s, 'jobtrail_jobs_enqueued_total', wq), 4);
  assert.is(sampleValue(s, 'jobtrail_jobs_cancelled_total', wq), 1);
  assert.is(sampleValue(s, 'jobtrail_jobs_started_total', wq), 3);
  assert.is(sampleValue(s, 'jobtrail_jobs_in_progress', wq), 0);
  assert.is(sampleValue(s, 'jobtrail_attempt_duration_seconds_count', { ...wq, outcome: 'completed' }), 3);
  assert.is(sampleValue(s, 'jobtrail_enqueue_to_start_seconds_count', wq), 3);
  // 4 JobEnqueued, 1 JobCancelled, 3 JobStarted, 3 JobCompleted: every append to a job stream is timed.
  assert.ok((sampleValue(s, 'jobtrail_store_append_duration_seconds_count', { outcome: 'ok' }) ?? 0) >= 11);
  assert.is(sampleValue(s, 'jobtrail_queue_consumers', { queue: 'metrics-q' }), 1, 'this started engine, by its heartbeat');
  assert.is(sampleValue(s, 'jobtrail_queue_messages', { queue: 'metrics-q' }), 0);
  assert.is(sampleValue(s, 'jobtrail_queue_paused', { queue: 'metrics-q' }), 0);
  if (esdbUrl !== undefined)
    assert.is(sampleValue(s, 'jobtrail_projection_lag_seconds', { projection: 'job-view' }), undefined, 'the server folds: not known');
  else assert.type(sampleValue(s, 'jobtrail_projection_lag_seconds', { projection: 'job-view' }), 'number');
  assert.is(sampleValue(s, 'jobtrail_metrics_collect_errors_total', { collector: 'projection_lag' }), 0);
  await waitFor(
    async () => {
      const completed = sampleValue(await scrape(registry), 'jobtrail_jobs', { status: 'completed' }) ?? 0;
      // A shared EventStoreDB holds other tests' jobs too.
      return esdbUrl === undefined ? completed === 3 : completed >= 3;
    },
    10_000,
    'the job-dashboard counts',
  );
  if (esdbUrl === undefined)
    await waitFor(
      async () => sampleValue(await scrape(registry), 'jobtrail_projection_lag_events', { projection: 'job-view' }) === 0,
      10_000,
      'the projection to catch up',
    );
});

test('no metrics: nothing is registered and the engine has no registry', async () => {
  const engine = await createEngine({ store: testMemoryStoreUrl(), workers: [makeSleeper('q')] });
  engines.push(engine);
  assert.is(engine.metrics, undefined);
});

test('bad metrics options are refused at createEngine, with nothing left open', async () => {
  try {
    await createEngine({ store: testMemoryStoreUrl(), metrics: { registry: new Registry(), maxSeries: -1 } });
    assert.unreachable('refused');
  } catch (error) {
    assert.match((error as Error).message, /metrics.maxSeries must be a whole number/);
  }
});

test.run();
