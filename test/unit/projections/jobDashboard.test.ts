// projections/job-dashboard.js through the embedded runtime's engine: its
// counts equal a recount from the streams; its lists stay short and exact as
// far as they go; its shared state stays small (KurrentDB's V1 engine
// serialises and parses it on nearly every event).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { JobEvent } from '../../../src/job/index.js';
import { makeMemoryProjection, type JobDashboard, type ProjectionEvent } from '../../../src/projections/index.js';
import { jobHistoriesArb } from '../../support/histories.js';
import { chunks, fixtureEvents, fixtureHistories, projectionPath, projectionSource, readFixture, toProjectionEvents } from '../../support/projectionFixtures.js';
import { assertDashboardMatches, bucketRatio, dashboardLimits, exactP95, recountDashboard } from '../../support/projectionRecount.js';

const test = suite('projection job-dashboard');
const source = projectionSource('job-dashboard');
const dashboard = () => makeMemoryProjection({ name: 'job-dashboard', source, filename: projectionPath('job-dashboard') });

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
let position = 0;
const ev = (stream: string, revision: number, event: JobEvent): ProjectionEvent => ({
  streamId: stream,
  revision,
  type: event.type,
  data: event.data,
  isJson: true,
  position: String((position += 1)),
});
const enqueued = (i: number, workerName = 'w'): JobEvent =>
  ({ type: 'JobEnqueued', data: { jobId: `j${i}`, workerName, queue: 'default', payload: null, maxAttempts: 3, enqueuedAt: at(i) } }) as JobEvent;
const started = (attempt: number, ms: number): JobEvent =>
  ({ type: 'JobStarted', data: { attempt, workerId: 'h:1:r', backgroundJobId: `m${ms}`, startedAt: at(ms) } }) as JobEvent;
const completed = (attempt: number, ms: number, durationMs: number): JobEvent =>
  ({ type: 'JobCompleted', data: { attempt, completedAt: at(ms), durationMs } }) as JobEvent;
const errored = (attempt: number, ms: number, message: string, retry: boolean): JobEvent =>
  ({ type: 'JobErrored', data: { attempt, erroredAt: at(ms), error: { name: 'Error', message }, ...(retry ? { retryAt: at(ms + 1000) } : {}) } }) as JobEvent;

const asPairs = (events: readonly ProjectionEvent[]) =>
  events.map((e) => ({ stream: e.streamId, event: { type: e.type, data: e.data } as JobEvent }));

test('is a bi-state foreachStream projection of the job category, without result streams or emit', () => {
  const { info } = dashboard().engine;
  assert.equal(info.source, { type: 'categories', categories: ['job'] });
  assert.is(info.partitioning, 'byStream');
  assert.is(info.biState, true);
  assert.is(info.outputState, false);
  assert.is(info.emits, false);
});

test('fixtures: the dashboard equals a recount from the streams', () => {
  const p = dashboard();
  const events = fixtureEvents();
  assert.is(p.feed(events), undefined, 'no fault');
  const expected = recountDashboard(asPairs(events));
  assertDashboardMatches(p.shared(), expected);
  const d = p.shared() as JobDashboard;
  // Every job of the fixture but the purged one (fx-purged: completed, then purged).
  assert.is(d.jobs, fixtureHistories(readFixture()).size - 1);
  assert.is(d.purged, 1);
  assert.equal(d.counts, { awaiting: 1, initial: 1, in_progress: 1, errored: 2, completed: 8, cancelled: 3 });
});

test('random valid histories, interleaved and in random batches: the dashboard equals a recount', () => {
  fc.assert(
    fc.property(jobHistoriesArb({ maxJobs: 12, maxSteps: 18 }), fc.array(fc.integer({ min: 1, max: 13 }), { minLength: 1, maxLength: 4 }), ({ events }, sizes) => {
      const p = dashboard();
      const projected = toProjectionEvents(events);
      for (const batch of chunks(projected, sizes)) assert.is(p.feed(batch), undefined, 'no fault');
      assertDashboardMatches(p.shared(), recountDashboard(asPairs(projected)));
    }),
    { numRuns: 150 },
  );
});

test('random histories with up to 30 jobs at once, interleaved: the outstanding list is exact as far as it goes', () => {
  fc.assert(
    fc.property(jobHistoriesArb({ minJobs: 8, maxJobs: 30, maxSteps: 6 }), ({ events }) => {
      const p = dashboard();
      const projected = toProjectionEvents(events);
      assert.is(p.feed(projected), undefined, 'no fault');
      assertDashboardMatches(p.shared(), recountDashboard(asPairs(projected)));
    }),
    { numRuns: 60 },
  );
});

type Outstanding = JobDashboard['outstanding'] & { readonly through: number };
const outstandingOf = (p: ReturnType<typeof dashboard>) => (p.shared() as JobDashboard).outstanding as Outstanding;

test('outstanding jobs: an exact count, the oldest 10 listed; the list moves on as the next jobs move, and says how far it is exact', () => {
  const p = dashboard();
  const jobs = 1100;
  const fed: ProjectionEvent[] = [];
  const feed = (events: ProjectionEvent[]) => {
    fed.push(...events);
    assert.is(p.feed(events), undefined, 'no fault');
  };
  feed(Array.from({ length: jobs }, (_, i) => ev(`job-j${i}`, 0, enqueued(i))));
  let o = outstandingOf(p);
  assert.is(o.count, jobs);
  assert.is(o.entries.length, dashboardLimits.outstanding);
  assert.equal(o.entries.map((e) => e.jobId), Array.from({ length: 10 }, (_, i) => `j${i}`), 'the 10 oldest');
  assert.is(o.through, 10, 'exact up to the 10th enqueue');
  // The 5 oldest complete: 5 places free up; j10 (the next enqueued) starts and takes one; j30 starts: not known to be among the oldest.
  feed(Array.from({ length: 5 }, (_, i) => [ev(`job-j${i}`, 1, started(1, 5000 + i)), ev(`job-j${i}`, 2, completed(1, 6000 + i, 10))]).flat());
  feed([ev('job-j10', 1, started(1, 7000)), ev('job-j30', 1, started(1, 7001))]);
  o = outstandingOf(p);
  assert.is(o.count, jobs - 5);
  assert.is(o.through, 11);
  assert.is(o.entries.length, 6);
  assert.equal(o.entries[0], { jobId: 'j5', status: 'initial', workerName: 'w', enqueuedAt: at(5), n: 6 });
  assert.equal(o.entries[5], { jobId: 'j10', status: 'in_progress', workerName: 'w', enqueuedAt: at(10), n: 11 });
  // A cancelled job that is next after `through` moves it on too.
  feed([ev('job-j11', 1, { type: 'JobCancelled', data: { at: at(8000) } } as JobEvent)]);
  o = outstandingOf(p);
  assert.is(o.through, 12);
  assert.is(o.entries.length, 6);
  const d = p.shared() as JobDashboard;
  assert.is(d.counts.completed, 5);
  assert.is(d.counts.cancelled, 1);
  assert.is(d.counts.in_progress, 2);
  assert.is(d.counts.initial, jobs - 8);
  assertDashboardMatches(d, recountDashboard(asPairs(fed)));
});

test('outstanding jobs: an older job that becomes outstanding again pushes the newest entry out, and the list is exact to before it', () => {
  const p = dashboard();
  const events: ProjectionEvent[] = [];
  // j0..j4 complete; then 12 more are enqueued (j5..j16): 10 listed, exact to j14.
  for (let i = 0; i < 5; i++) events.push(ev(`job-j${i}`, 0, enqueued(i)), ev(`job-j${i}`, 1, started(1, 100 + i)), ev(`job-j${i}`, 2, completed(1, 200 + i, 5)));
  for (let i = 5; i < 17; i++) events.push(ev(`job-j${i}`, 0, enqueued(i)));
  p.feed(events);
  let o = outstandingOf(p);
  assert.is(o.through, 15);
  assert.equal(o.entries.map((e) => e.jobId), Array.from({ length: 10 }, (_, i) => `j${i + 5}`));
  // j2 is retried by hand: it is outstanding again, the oldest; j14 drops out.
  const reset = ev('job-j2', 3, { type: 'JobReset', data: { reason: 'manual', at: at(300) } } as JobEvent);
  p.feed([reset]);
  o = outstandingOf(p);
  assert.is(o.count, 13);
  assert.is(o.through, 14);
  assert.equal(o.entries.map((e) => e.jobId), ['j2', ...Array.from({ length: 9 }, (_, i) => `j${i + 5}`)]);
  assertDashboardMatches(p.shared(), recountDashboard(asPairs([...events, reset])));
});

test('failures: the newest 10, newest first, messages cut to 500 characters', () => {
  const p = dashboard();
  const events: ProjectionEvent[] = [];
  for (let i = 0; i < 150; i++) {
    events.push(ev(`job-f${i}`, 0, enqueued(i, i % 2 === 0 ? 'even' : 'odd')));
    events.push(ev(`job-f${i}`, 1, started(1, 10_000 + i)));
    events.push(ev(`job-f${i}`, 2, errored(1, 20_000 + i, `failure ${i} ${'x'.repeat(600)}`, i % 3 === 0)));
  }
  p.feed(events);
  const d = p.shared() as JobDashboard;
  assert.is(d.failures.length, 10);
  assert.is(d.failures[0]?.jobId, 'j149');
  assert.is(d.failures[9]?.jobId, 'j140');
  assert.is(d.failures[0]?.error.message.length, 500);
  assert.ok(d.failures[0]?.error.message.startsWith('failure 149 '));
  assert.is(d.workers.even?.errored, 75);
  assert.is(d.counts.errored, 150);
  assert.is(d.awaitingRetry, 50);
  assert.is(d.outstanding.count, 50, 'errored jobs awaiting a retry are outstanding');
  assertDashboardMatches(d, recountDashboard(asPairs(events)));
});

test('p95 of many durations is within one bucket (9%) of the exact value, the mean exact', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.double({ min: 0, max: 1e8, noNaN: true, noDefaultInfinity: true })), { minLength: 1, maxLength: 400 }), (raw) => {
      const durations = raw.map((d) => (Object.is(d, -0) ? 0 : d));
      const p = dashboard();
      p.feed(durations.flatMap((ms, i) => [ev(`job-d${i}`, 0, enqueued(i)), ev(`job-d${i}`, 1, started(1, i)), ev(`job-d${i}`, 2, completed(1, i, ms))]));
      const w = (p.shared() as JobDashboard).workers.w;
      assert.ok(w !== undefined);
      if (w === undefined) return;
      const exact = exactP95(durations);
      assert.ok(exact < w.durations.p95Ms, `exact ${exact} < bound ${w.durations.p95Ms}`);
      if (w.durations.p95Ms > 1) assert.ok(exact * bucketRatio >= w.durations.p95Ms * (1 - 1e-12), `exact ${exact} within a bucket of ${w.durations.p95Ms}`);
      assert.ok(Math.abs(w.durations.meanMs - durations.reduce((a, b) => a + b, 0) / durations.length) <= 1e-6 * Math.max(1, w.durations.meanMs));
      assert.ok(Object.keys(w.durations.buckets).length <= 8 * 28 + 1, 'a bounded histogram');
    }),
    { numRuns: 100 },
  );
});

test('the shared state stays small at its bounds: 10 listed outstanding with long ids, 10 long failures, whatever the backlog', () => {
  const longId = (i: number) => `${'k'.repeat(120)}${String(i).padStart(6, '0')}`.slice(-128);
  const sizeWith = (backlog: number) => {
    const p = dashboard();
    const events: ProjectionEvent[] = [];
    for (let i = 0; i < backlog; i++)
      events.push(ev(`job-${longId(i)}`, 0, { ...enqueued(i), data: { ...(enqueued(i).data as object), jobId: longId(i), workerName: `worker-${i % 10}` } } as JobEvent));
    for (let i = 0; i < 200; i++) {
      events.push(ev(`job-${longId(i)}`, 1, started(1, 9000 + i)));
      events.push(ev(`job-${longId(i)}`, 2, errored(1, 9500 + i, 'y'.repeat(2000), true)));
    }
    p.feed(events);
    const d = p.shared() as JobDashboard;
    assert.is(d.outstanding.count, backlog);
    assert.is(d.outstanding.entries.length, 10);
    assert.is(d.failures.length, 10);
    return Buffer.byteLength(JSON.stringify(d));
  };
  const small = sizeWith(300);
  const large = sizeWith(5000);
  assert.ok(large < 16_000, `shared state is ${large} bytes`);
  assert.ok(large - small < 100, `the backlog does not grow it (only its counts' digits): ${small} → ${large} bytes`);
});

test.run();
