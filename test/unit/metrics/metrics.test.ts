// The Prometheus side of docs/metrics.md, without an engine: bounded labels, outcome labels, and scrape-time
// collectors that fail or hang without breaking the scrape.
import { Registry } from 'prom-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attachMetrics, firstDueAt, makeLabelBound, otherLabel, outcomeLabel, type MetricsSource } from '../../../src/metrics/index.js';
import type { JobView } from '../../../src/job/index.js';
import { parseProm, sampleValue } from '../../support/promText.js';

const test = suite('metrics: labels and collectors');

const job = (workerName: string, queue: string, more: Partial<Record<keyof JobView, unknown>> = {}): JobView =>
  ({
    jobId: 'j',
    workerName,
    queue,
    payload: null,
    maxAttempts: 3,
    status: 'in_progress',
    attempts: 1,
    attemptBase: 0,
    enqueuedAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
    ...more,
  }) as JobView;

test('the label bound keeps the first pairs and counts every later one as (other)', () => {
  let overflows = 0;
  const bound = makeLabelBound(2, () => overflows++);
  assert.equal(bound.labels('a', 'q'), { worker: 'a', queue: 'q' });
  assert.equal(bound.labels('b', 'q'), { worker: 'b', queue: 'q' });
  assert.equal(bound.labels('a', 'q'), { worker: 'a', queue: 'q' }, 'a known pair keeps its labels');
  assert.equal(bound.labels('a', 'other-queue'), { worker: otherLabel, queue: otherLabel });
  assert.equal(bound.labels('c', 'q'), { worker: otherLabel, queue: otherLabel });
  assert.is(bound.size, 2);
  assert.is(overflows, 2);
  assert.throws(() => makeLabelBound(0), /whole number ≥ 1/);
});

test('a thousand queues make at most maxSeries series, and the overflow is counted', async () => {
  const registry = new Registry();
  const m = attachMetrics({ registry, maxSeries: 3 });
  for (let i = 0; i < 1000; i++) m.observer.enqueued!(job('w', `tenant-${i}`));
  const samples = parseProm(await registry.metrics());
  const enqueued = samples.filter((s) => s.name === 'jobtrail_jobs_enqueued_total');
  assert.is(enqueued.length, 4, 'three pairs of their own and (other)');
  assert.is(sampleValue(samples, 'jobtrail_jobs_enqueued_total', { worker: otherLabel, queue: otherLabel }), 997);
  assert.is(sampleValue(samples, 'jobtrail_metrics_label_overflow_total'), 997);
});

test('an attempt moves started, in progress, its outcome counters and histogram once', async () => {
  const registry = new Registry();
  const m = attachMetrics({ registry });
  const started = job('w', 'q', { startedAt: '2026-12-01T10:00:02.500Z', runAt: '2026-12-01T10:00:02.000Z' });
  const end = m.observer.attemptStarted!(started)!;
  let s = parseProm(await registry.metrics());
  const wq = { worker: 'w', queue: 'q' };
  assert.is(sampleValue(s, 'jobtrail_jobs_in_progress', wq), 1);
  assert.is(sampleValue(s, 'jobtrail_jobs_started_total', wq), 1);
  assert.is(sampleValue(s, 'jobtrail_enqueue_to_start_seconds_sum', wq), 0.5, 'from its runAt, the later of enqueuedAt and runAt');
  end({ _tag: 'Errored', job: { jobId: 'j', state: started, revision: 1 }, attempt: 1, retryAt: undefined } as never);
  end(undefined);
  s = parseProm(await registry.metrics());
  assert.is(sampleValue(s, 'jobtrail_jobs_in_progress', wq), 0, 'ended once, whatever is called after');
  assert.is(sampleValue(s, 'jobtrail_jobs_errored_total', wq), 1);
  assert.is(sampleValue(s, 'jobtrail_jobs_failed_total', wq), 1);
  assert.is(sampleValue(s, 'jobtrail_attempt_duration_seconds_count', { ...wq, outcome: 'failed' }), 1);
  // A retry's start is not a wait in the queue.
  m.observer.attemptStarted!(job('w', 'q', { attempts: 2, startedAt: '2026-12-01T11:00:00.000Z' }))!(undefined);
  s = parseProm(await registry.metrics());
  assert.is(sampleValue(s, 'jobtrail_enqueue_to_start_seconds_count', wq), 1);
  assert.is(sampleValue(s, 'jobtrail_attempt_duration_seconds_count', { ...wq, outcome: 'abandoned' }), 1);
});

test('outcome labels and the first due time', () => {
  const j = { jobId: 'j', state: job('w', 'q'), revision: 1 } as never;
  assert.is(outcomeLabel({ _tag: 'Completed', job: j }), 'completed');
  assert.is(outcomeLabel({ _tag: 'Cancelled', job: j, attempt: 1 }), 'cancelled');
  assert.is(outcomeLabel({ _tag: 'Errored', job: j, attempt: 1, retryAt: '2026-12-01T10:00:00.000Z' as never }), 'errored');
  assert.is(outcomeLabel({ _tag: 'Errored', job: j, attempt: 1, retryAt: undefined }), 'failed');
  assert.is(outcomeLabel({ _tag: 'Abandoned', attempt: 1, reason: 'lost' }), 'abandoned');
  assert.is(outcomeLabel(undefined), 'abandoned');
  const released = { at: '2026-12-01T10:05:00.000Z' as never, parents: [] };
  assert.is(firstDueAt(job('w', 'q', { released })), Date.parse('2026-12-01T10:05:00.000Z'));
  assert.is(firstDueAt(job('w', 'q')), Date.parse('2026-12-01T10:00:00.000Z'));
});

test('a collector that fails or hangs leaves its series out of that scrape, counts the error, and the scrape answers', async () => {
  const registry = new Registry();
  const warnings: string[] = [];
  const log = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as never;
  const m = attachMetrics({ registry, collectTimeoutMs: 100, jobCounts: true }, log);
  let calls = 0;
  const failing: MetricsSource = {
    queues: async () => {
      calls++;
      throw new Error('broker down');
    },
    projectionLag: () => new Promise(() => undefined),
    jobCounts: () => {
      throw new Error('thrown before any promise');
    },
  };
  const detach = m.collectFrom(failing);
  m.observer.enqueued!(job('w', 'q'));
  const t0 = Date.now();
  const samples = parseProm(await registry.metrics());
  assert.ok(Date.now() - t0 < 2_000, `the scrape took ${Date.now() - t0} ms`);
  assert.is(sampleValue(samples, 'jobtrail_jobs_enqueued_total', { worker: 'w', queue: 'q' }), 1, 'the other metrics are there');
  for (const name of ['jobtrail_queue_messages', 'jobtrail_queue_consumers', 'jobtrail_projection_lag_seconds', 'jobtrail_jobs'])
    assert.is(samples.filter((s) => s.name === name).length, 0, `no ${name} series`);
  assert.is(
    sampleValue(samples, 'jobtrail_metrics_collect_errors_total', { collector: 'queues' }),
    1,
    'one run for the three queue gauges',
  );
  assert.is(sampleValue(samples, 'jobtrail_metrics_collect_errors_total', { collector: 'projection_lag' }), 1);
  assert.is(sampleValue(samples, 'jobtrail_metrics_collect_errors_total', { collector: 'job_counts' }), 1);
  assert.is(calls, 1);
  assert.ok(warnings.length >= 3);
  detach();
  // Once it recovers, its series come back.
  m.collectFrom({
    queues: async () => [{ name: 'q', paused: true, depth: 4, consumers: 0 }],
    projectionLag: async () => [{ projection: 'job-view', events: 2, seconds: 1.5 }],
    jobCounts: async () => ({ counts: { completed: 7, errored: 1 }, awaitingRetry: 1 }),
  });
  await new Promise((r) => setTimeout(r, 1_050)); // past the one-scrape cache of the collectors
  const next = parseProm(await registry.metrics());
  assert.is(sampleValue(next, 'jobtrail_queue_messages', { queue: 'q' }), 4);
  assert.is(sampleValue(next, 'jobtrail_queue_consumers', { queue: 'q' }), 0);
  assert.is(sampleValue(next, 'jobtrail_queue_paused', { queue: 'q' }), 1);
  assert.is(sampleValue(next, 'jobtrail_projection_lag_events', { projection: 'job-view' }), 2);
  assert.is(sampleValue(next, 'jobtrail_jobs', { status: 'completed' }), 7);
  assert.is(sampleValue(next, 'jobtrail_jobs_awaiting_retry'), 1);
  assert.is(sampleValue(next, 'jobtrail_oldest_outstanding_job_age_seconds'), 0);
});

test('engines share a registry: a second attach neither throws nor registers twice', async () => {
  const registry = new Registry();
  const a = attachMetrics({ registry });
  const b = attachMetrics({ registry });
  a.observer.enqueued!(job('w', 'q'));
  b.observer.enqueued!(job('w', 'q'));
  assert.is(sampleValue(parseProm(await registry.metrics()), 'jobtrail_jobs_enqueued_total', { worker: 'w', queue: 'q' }), 2);
  assert.throws(() => attachMetrics({ registry: {} as never }), /prom-client Registry/);
  assert.throws(() => attachMetrics({ registry, collectTimeoutMs: 0 }), /collectTimeoutMs/);
});

test.run();
