// What projections/job-dashboard.js must hold, recounted from the streams in
// plain TypeScript (fold per job, counts over the event list), to check the
// projection against an independent computation.
import * as assert from 'uvu/assert';
import { evolve, initialJobState, isJobView, type JobEvent, type JobState, type JobStatus } from '../../src/job/index.js';
import type { JobDashboard } from '../../src/projections/index.js';

export const dashboardLimits = { outstanding: 10, failures: 10 } as const;

interface Job {
  readonly jobId: string;
  readonly workerName: string;
  readonly enqueuedAt: string;
  readonly n: number;
  state: JobState;
}

export interface Recount {
  readonly jobs: number;
  readonly seq: number;
  readonly counts: Record<JobStatus, number>;
  readonly awaitingRetry: number;
  readonly workers: Record<string, { enqueued: number; completed: number; errored: number; durations: number[]; totalMs: number }>;
  /** Every outstanding job, oldest (first enqueued) first. */
  readonly outstanding: Array<{ jobId: string; status: JobStatus; workerName: string; enqueuedAt: string; n: number }>;
  /** The most jobs outstanding at once, after any event. */
  readonly maxOutstanding: number;
  readonly failures: JobDashboard['failures'];
}

const isOutstanding = (s: JobState): boolean =>
  isJobView(s) && (s.status === 'initial' || s.status === 'in_progress' || (s.status === 'errored' && s.retryAt !== undefined));

/** Recounts the dashboard from events in global order. */
export const recountDashboard = (events: ReadonlyArray<{ readonly stream: string; readonly event: JobEvent }>): Recount => {
  const jobs = new Map<string, Job>();
  const workers: Recount['workers'] = {};
  const worker = (name: string) => (workers[name] ??= { enqueued: 0, completed: 0, errored: 0, durations: [], totalMs: 0 });
  let failures: Array<JobDashboard['failures'][number]> = [];
  let seq = 0;
  let distinct = 0;
  let outstandingNow = 0;
  let maxOutstanding = 0;
  // A second JobEnqueued replaces the job: whether the replaced one was outstanding.
  const wasOutstanding = (stream: string) => {
    const previous = jobs.get(stream);
    return previous !== undefined && isOutstanding(previous.state);
  };
  for (const { stream, event } of events) {
    const replaced = event.type === 'JobEnqueued' && wasOutstanding(stream);
    let job = jobs.get(stream);
    if (event.type === 'JobEnqueued') {
      if (job === undefined) distinct += 1;
      seq += 1;
      job = {
        jobId: event.data.jobId,
        workerName: event.data.workerName,
        enqueuedAt: event.data.enqueuedAt,
        n: seq,
        state: initialJobState,
      };
      jobs.set(stream, job);
      worker(job.workerName).enqueued += 1;
    }
    if (job === undefined) continue;
    // Purged (docs/retention.md): out of the total, the counts and the failures; the worker totals stay.
    if (event.type === 'JobPurged') {
      if (!isJobView(job.state)) continue;
      const purgedId = job.jobId;
      jobs.delete(stream);
      distinct -= 1;
      failures = failures.filter((f) => f.jobId !== purgedId);
      continue;
    }
    const was = event.type === 'JobEnqueued' ? replaced : isOutstanding(job.state);
    job.state = evolve(job.state, event);
    outstandingNow += (isOutstanding(job.state) ? 1 : 0) - (was ? 1 : 0);
    maxOutstanding = Math.max(maxOutstanding, outstandingNow);
    if (event.type === 'JobCompleted') {
      const w = worker(job.workerName);
      w.completed += 1;
      w.durations.push(event.data.durationMs);
      w.totalMs += event.data.durationMs;
    }
    if (event.type === 'JobErrored') {
      worker(job.workerName).errored += 1;
      failures.unshift({
        jobId: job.jobId,
        workerName: job.workerName,
        attempt: event.data.attempt,
        error: { name: event.data.error.name.substring(0, 200), message: event.data.error.message.substring(0, 500) },
        at: event.data.erroredAt,
        ...(event.data.retryAt !== undefined ? { retryAt: event.data.retryAt } : {}),
      });
      if (failures.length > dashboardLimits.failures) failures.pop();
    }
  }
  const counts: Record<JobStatus, number> = { awaiting: 0, initial: 0, in_progress: 0, errored: 0, completed: 0, cancelled: 0 };
  let awaitingRetry = 0;
  const outstanding: Recount['outstanding'] = [];
  for (const job of jobs.values()) {
    const s = job.state;
    if (!isJobView(s)) continue;
    counts[s.status] += 1;
    if (s.status === 'errored' && s.retryAt !== undefined) awaitingRetry += 1;
    if (isOutstanding(s))
      outstanding.push({ jobId: job.jobId, status: s.status, workerName: job.workerName, enqueuedAt: job.enqueuedAt, n: job.n });
  }
  outstanding.sort((a, b) => a.n - b.n);
  return { jobs: distinct, seq, counts, awaitingRetry, workers, outstanding, maxOutstanding, failures };
};

/** The nearest-rank 95th percentile: the ceil(0.95·n)-th smallest value. */
export const exactP95 = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.floor((95 * sorted.length + 99) / 100);
  return sorted[rank - 1] as number;
};

/** 2^(1/8): the width ratio of the dashboard's duration buckets. */
export const bucketRatio = 1.0905077326652577;

/** Asserts that the dashboard state equals the recount (exact counts and lists; p95 within its bucket). */
export const assertDashboardMatches = (actual: unknown, expected: Recount): void => {
  const d = actual as JobDashboard;
  assert.ok(d !== undefined && d !== null, 'the dashboard has a state');
  assert.is(d.jobs, expected.jobs, 'jobs');
  assert.is(d.seq, expected.seq, 'enqueue sequence');
  assert.equal(d.counts, expected.counts, 'counts by status');
  assert.is(d.awaitingRetry, expected.awaitingRetry, 'awaiting retry');
  assert.equal(Object.keys(d.workers).sort(), Object.keys(expected.workers).sort(), 'workers');
  for (const [name, w] of Object.entries(expected.workers)) {
    const got = d.workers[name];
    assert.ok(got !== undefined, `worker ${name}`);
    if (got === undefined) continue;
    assert.is(got.enqueued, w.enqueued, `${name} enqueued`);
    assert.is(got.completed, w.completed, `${name} completed`);
    assert.is(got.errored, w.errored, `${name} errored`);
    assert.is(got.durations.count, w.durations.length, `${name} duration count`);
    assert.is(got.durations.totalMs, w.totalMs, `${name} total duration`);
    assert.is(got.durations.meanMs, w.durations.length === 0 ? 0 : w.totalMs / w.durations.length, `${name} mean`);
    const bucketed = Object.values(got.durations.buckets).reduce((a, b) => a + b, 0);
    assert.is(bucketed, w.durations.length, `${name} histogram total`);
    if (w.durations.length > 0) {
      const p95 = exactP95(w.durations);
      const bound = got.durations.p95Ms;
      assert.ok(p95 < bound, `${name}: exact p95 ${p95} below the reported bucket bound ${bound}`);
      assert.ok(
        bound === 1 ? p95 >= 0 : p95 >= (bound / bucketRatio) * (1 - 1e-12),
        `${name}: exact p95 ${p95} within one bucket of ${bound}`,
      );
    } else {
      assert.is(got.durations.p95Ms, 0, `${name} p95 without durations`);
    }
  }
  assert.is(d.outstanding.count, expected.outstanding.length, 'outstanding count');
  // `through` is not in the JobDashboard type (src/projections/projectionQueries.ts) yet.
  const through = (d.outstanding as { readonly through?: number }).through ?? -1;
  assert.ok(Number.isInteger(through) && through >= 0 && through <= expected.seq, `outstanding.through ${through} is a sequence number`);
  assert.ok(d.outstanding.entries.length <= dashboardLimits.outstanding, 'outstanding entries bounded');
  assert.equal(
    d.outstanding.entries,
    expected.outstanding.filter((o) => o.n <= through),
    'outstanding entries: every outstanding job enqueued up to `through`, oldest first',
  );
  if (expected.maxOutstanding <= dashboardLimits.outstanding) {
    assert.is(through, expected.seq, 'the list never overflowed: it reaches the last enqueue');
    assert.equal(d.outstanding.entries, expected.outstanding, 'outstanding entries: all of them, oldest first');
  }
  assert.equal(d.failures, expected.failures, 'failures: the newest, newest first');
  assert.equal(d.limits, dashboardLimits, 'limits');
};
