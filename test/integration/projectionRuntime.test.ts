// The embedded projection runtime on the real SQLite store: the projection
// files over recorded and random histories, checkpoints and restarts,
// rebuilds, faults, partitions, and the lease between processes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { fold, isJobView, type JobEvent, type JobState, type JobStatus, type JobView } from '../../src/job/index.js';
import { makeEmbeddedEventStore, type EmbeddedEventStore } from '../../src/eventStore/index.js';
import {
  builtInProjectionFiles,
  InvalidCursor,
  runProjections,
  type ProjectionChange,
  type ProjectionFault,
  type ProjectionsHandle,
  type RunProjectionsOptions,
} from '../../src/projections/index.js';
import { jobHistoriesArb, type InterleavedEvent } from '../support/histories.js';
import { asJson, readFixture } from '../support/projectionFixtures.js';
import { assertDashboardMatches, recountDashboard } from '../support/projectionRecount.js';
import { appendAll, countingProjection, tempDir, writeProjection, type StoredEvent } from '../support/projectionStores.js';
import { observeFor, waitFor } from '../support/waitFor.js';

const test = suite('projection runtime (embedded store)');

const quiet: NonNullable<RunProjectionsOptions['logger']> = { info: () => undefined, warn: () => undefined, error: () => undefined };
const run = (options: RunProjectionsOptions): Promise<ProjectionsHandle> =>
  runProjections({ logger: quiet, leaseRetryMs: 50, flushDelayMs: 5, pollIntervalMs: 25, ...options });

const fromFixture = (): StoredEvent[] =>
  readFixture().map((l) => ({ stream: l.streamId, type: l.type, data: l.data, metadata: l.metadata }));
const fromGenerated = (events: readonly InterleavedEvent[]): StoredEvent[] =>
  events.map((e) => ({ stream: e.stream, type: e.event.type, data: e.event.data, metadata: { $correlationId: 'c', $causationId: 'c' } }));
const asJobEvent = (e: StoredEvent): JobEvent => ({ type: e.type, data: e.data }) as JobEvent;

const foldStreams = (events: readonly StoredEvent[]): Map<string, JobState> => {
  const by = new Map<string, JobEvent[]>();
  for (const e of events) by.set(e.stream, [...(by.get(e.stream) ?? []), asJobEvent(e)]);
  return new Map([...by].map(([s, es]) => [s, fold(es)]));
};

const listAll = async (h: ProjectionsHandle, filter: { status?: JobStatus; workerName?: string }, limit: number): Promise<JobView[]> => {
  const out: JobView[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await h.queries.listJobViews({ ...filter, limit, ...(after !== undefined ? { after } : {}) });
    assert.ok(page.jobs.length <= limit, 'a page holds at most the limit');
    out.push(...page.jobs);
    if (page.next === undefined) return out;
    after = page.next;
  }
  throw new Error('listJobViews did not end');
};

test('fixtures and random histories: every job view equals fold, the dashboard a recount, listJobViews filters and pages', async () => {
  const store = makeEmbeddedEventStore({ path: ':memory:' });
  const generated = fc.sample(jobHistoriesArb({ minJobs: 5, maxJobs: 12 }), { numRuns: 4, seed: 42 });
  const events = [...fromFixture(), ...generated.flatMap((g) => fromGenerated(g.events))];
  await appendAll(store, events);
  const h = await run({ store, batchSize: 37 });
  try {
    await h.caughtUp();
    const expected = foldStreams(events);
    for (const [stream, state] of expected) assert.equal(await h.queries.getState('job-view', stream), asJson(state), stream);
    assertDashboardMatches(
      await h.queries.getState('job-dashboard'),
      recountDashboard(events.map((e) => ({ stream: e.stream, event: asJobEvent(e) }))),
    );

    const views = [...expected.values()].filter(isJobView);
    const order = (a: JobView, b: JobView) =>
      Date.parse(b.enqueuedAt) - Date.parse(a.enqueuedAt) || (`job-${b.jobId}` > `job-${a.jobId}` ? 1 : -1);
    const all = await listAll(h, {}, 7);
    assert.equal(
      all.map((v) => v.jobId),
      views.sort(order).map((v) => v.jobId),
      'every job, newest enqueued first, across pages',
    );
    assert.equal(all, asJson(views.sort(order)), 'the listed views are the states');
    for (const status of ['initial', 'in_progress', 'errored', 'completed', 'cancelled'] as const) {
      const listed = await listAll(h, { status }, 5);
      assert.equal(
        listed.map((v) => v.jobId),
        views
          .filter((v) => v.status === status)
          .sort(order)
          .map((v) => v.jobId),
        `status ${status}`,
      );
    }
    const listed = await listAll(h, { status: 'completed', workerName: 'send-email' }, 3);
    assert.equal(
      listed.map((v) => v.jobId),
      views
        .filter((v) => v.status === 'completed' && v.workerName === 'send-email')
        .sort(order)
        .map((v) => v.jobId),
    );
    assert.ok(listed.length > 0, 'the combined filter finds jobs');
    const status = h.status().find((s) => s.name === 'job-view');
    assert.is(status?.delivered, events.length);
    assert.ok((status?.batches ?? 0) >= Math.ceil(events.length / 37), 'batches of at most batchSize events');
    let refused = false;
    await h.queries.listJobViews({ after: 'not-a-cursor' }).catch((e: unknown) => (refused = e instanceof InvalidCursor));
    assert.ok(refused, 'a foreign cursor is refused');
  } finally {
    await h.stop();
    await store.close();
  }
});

test('a restart resumes from the checkpoint: old events are not folded again; batches are transactions of many events', async () => {
  const dir = tempDir();
  const counter = writeProjection(dir.path, 'counter', countingProjection('job'));
  const files = [...builtInProjectionFiles, counter];
  const first = Array.from({ length: 1200 }, (_, i) => ({ stream: `job-c${i % 40}`, type: 'Noise', data: { i } }));
  const later = Array.from({ length: 70 }, (_, i) => ({ stream: `job-c${i % 7}`, type: 'Noise', data: { i } }));
  try {
    let store = makeEmbeddedEventStore({ path: `${dir.path}/events.db` });
    await appendAll(store, first);
    let h = await run({ store, files });
    await h.caughtUp();
    const run1 = h.status().find((s) => s.name === 'counter');
    assert.is(run1?.handled, 1200);
    assert.ok((run1?.batches ?? 0) <= 12, `1200 events in ${run1?.batches} transactions, not one per event`);
    assert.equal(await h.queries.getState('counter'), { n: 1200, last: 'job-c39@29' });
    await h.stop();
    await store.close();

    store = makeEmbeddedEventStore({ path: `${dir.path}/events.db` });
    await appendAll(store, later);
    h = await run({ store, files });
    try {
      await h.caughtUp();
      const run2 = h.status().find((s) => s.name === 'counter');
      assert.is(run2?.delivered, 70, 'only the new events are delivered');
      assert.is(run2?.handled, 70, 'only the new events reach the handler');
      assert.equal(await h.queries.getState('counter'), { n: 1270, last: 'job-c6@39' });
      assert.is(h.status().find((s) => s.name === 'job-view')?.delivered, 70, 'job-view resumes too');
    } finally {
      await h.stop();
      await store.close();
    }
  } finally {
    dir.remove();
  }
});

test('a projection whose file changed is rebuilt from the start; an unchanged one is not', async () => {
  const dir = tempDir();
  const path = `${dir.path}/events.db`;
  const counter = writeProjection(dir.path, 'counter', countingProjection('job'));
  const files = [builtInProjectionFiles[0] as string, counter];
  const events = Array.from({ length: 30 }, (_, i) => ({ stream: `job-r${i % 3}`, type: 'Noise', data: { i } }));
  try {
    let store = makeEmbeddedEventStore({ path });
    await appendAll(store, events);
    let h = await run({ store, files });
    await h.caughtUp();
    assert.equal(await h.queries.getState('counter'), { n: 30, last: 'job-r2@9' });
    await h.stop();
    await store.close();

    writeProjection(dir.path, 'counter', countingProjection('job', 10));
    store = makeEmbeddedEventStore({ path });
    h = await run({ store, files });
    try {
      await h.caughtUp();
      assert.equal(await h.queries.getState('counter'), { n: 300, last: 'job-r2@9' }, 'folded again with the new code');
      assert.is(h.status().find((s) => s.name === 'counter')?.delivered, 30, 'every event again');
      assert.is(h.status().find((s) => s.name === 'job-view')?.delivered, 0, 'the unchanged projection goes on from its checkpoint');
    } finally {
      await h.stop();
      await store.close();
    }
  } finally {
    dir.remove();
  }
});

test('a projection that throws is reported, faulted and stopped, and stays so; the others keep going', async () => {
  const dir = tempDir();
  const path = `${dir.path}/events.db`;
  const bad = writeProjection(
    dir.path,
    'bad',
    `fromCategory('job').when({
      $init: function () { return { started: 0 }; },
      JobStarted: function (s, e) { if (e.streamId === 'job-boom') throw new RangeError('boom at ' + e.sequenceNumber); s.started += 1; }
    });`,
  );
  const broken = writeProjection(dir.path, 'broken', `fromCategory('job').when({`);
  const files = [...builtInProjectionFiles, bad, broken];
  const boom: StoredEvent[] = [
    {
      stream: 'job-boom',
      type: 'JobEnqueued',
      data: { jobId: 'boom', workerName: 'w', queue: 'default', payload: {}, maxAttempts: 1, enqueuedAt: '2026-02-01T00:00:00.000Z' },
    },
    {
      stream: 'job-boom',
      type: 'JobStarted',
      data: { attempt: 1, workerId: 'h:1:r', backgroundJobId: 'm', startedAt: '2026-02-01T00:00:01.000Z' },
    },
  ];
  const faults: ProjectionFault[] = [];
  try {
    let store = makeEmbeddedEventStore({ path });
    const fixture = fromFixture();
    await appendAll(store, [...fixture.slice(0, 10), ...boom, ...fixture.slice(10)]);
    let h = await run({ store, files, onFault: (f) => faults.push(f) });
    await h.caughtUp();
    const byName = new Map(faults.map((f) => [f.projection, f]));
    assert.equal([...byName.keys()].sort(), ['bad', 'broken'], 'each faulted projection reported once');
    assert.is(faults.length, 2);
    const f = byName.get('bad');
    assert.equal(
      { stream: f?.stream, revision: f?.revision, eventType: f?.eventType, name: f?.error.name, message: f?.error.message },
      { stream: 'job-boom', revision: 1, eventType: 'JobStarted', name: 'RangeError', message: 'boom at 1' },
    );
    assert.match(byName.get('broken')?.error.name ?? '', 'SyntaxError');
    const statuses = new Map(h.status().map((s) => [s.name, s.status]));
    assert.equal(Object.fromEntries(statuses), {
      'job-view': 'running',
      'job-dashboard': 'running',
      'job-throughput': 'running',
      bad: 'faulted',
      broken: 'faulted',
    });
    assert.equal(
      await h.queries.getState('job-view', 'job-boom'),
      asJson(fold(boom.map(asJobEvent))),
      'job-view folded the event that broke "bad"',
    );

    await appendAll(store, [
      { stream: 'job-boom', type: 'JobCompleted', data: { attempt: 1, completedAt: '2026-02-01T00:00:02.000Z', durationMs: 1000 } },
    ]);
    await h.queries.waitFor('job-view', (s) => (s as JobView | undefined)?.status === 'completed', {
      partition: 'job-boom',
      timeoutMs: 5000,
    });
    await h.stop();
    await store.close();

    store = makeEmbeddedEventStore({ path });
    h = await run({ store, files, onFault: (fault) => faults.push(fault) });
    try {
      await h.caughtUp();
      assert.is(faults.length, 2, 'a known fault is not reported again');
      assert.is(h.status().find((s) => s.name === 'bad')?.status, 'faulted', 'it stays faulted until its file changes');
      assert.is(h.status().find((s) => s.name === 'bad')?.fault?.stream, 'job-boom', 'with the fault it had');
      assert.is(h.status().find((s) => s.name === 'job-view')?.status, 'running');
    } finally {
      await h.stop();
      await store.close();
    }
  } finally {
    dir.remove();
  }
});

test('partitionBy, $init and $any through the runtime; non-JSON events and system streams are not delivered', async () => {
  const dir = tempDir();
  const byCustomer = writeProjection(
    dir.path,
    'by-customer',
    `fromAll().partitionBy(function (e) { return e.body.customer; }).when({
      $init: function () { return { total: 0, types: [] }; },
      $any: function (s, e) { s.total += e.body.amount || 0; s.types.push(e.eventType); }
    });`,
  );
  const store = makeEmbeddedEventStore({ path: ':memory:' });
  const h = await run({ store, files: [byCustomer] });
  try {
    await appendAll(store, [
      { stream: 'order-1', type: 'Placed', data: { customer: 'ann', amount: 5 } },
      { stream: 'order-2', type: 'Placed', data: { customer: 'bob', amount: 7 } },
      { stream: 'order-1', type: 'Paid', data: { customer: 'ann' } },
      { stream: 'order-3', type: 'Placed', data: { amount: 99 } },
      { stream: 'order-4', type: 'Scanned', data: new Uint8Array([123, 125]) },
      { stream: '$audit-1', type: 'Placed', data: { customer: 'ann', amount: 1000 } },
      { stream: 'order-5', type: 'Placed', data: { customer: 'ann', amount: 1 } },
    ]);
    await h.caughtUp();
    assert.equal(await h.queries.getState('by-customer', 'ann'), { total: 6, types: ['Placed', 'Paid', 'Placed'] });
    assert.equal(await h.queries.getState('by-customer', 'bob'), { total: 7, types: ['Placed'] });
    assert.is(await h.queries.getState('by-customer', 'nobody'), undefined);
    const page1 = await h.queries.listPartitions('by-customer', { limit: 1 });
    assert.equal(page1.partitions, [{ partition: 'ann', state: { total: 6, types: ['Placed', 'Paid', 'Placed'] } }]);
    const page2 = await h.queries.listPartitions('by-customer', { limit: 1, ...(page1.next !== undefined ? { after: page1.next } : {}) });
    assert.equal(
      page2.partitions.map((p) => p.partition),
      ['bob'],
    );
    assert.is(page2.next, undefined, 'the partitions are listed');
    const s = h.status()[0];
    assert.is(s?.handled, 4, 'no partition, binary body and system stream: not handled');
  } finally {
    await h.stop();
    await store.close();
    dir.remove();
  }
});

test('subscribe and waitFor in the process that advances the projections', async () => {
  const store = makeEmbeddedEventStore({ path: ':memory:' });
  const h = await run({ store });
  const changes: ProjectionChange[] = [];
  const dashboards: ProjectionChange[] = [];
  const stopViews = h.queries.subscribe('job-view', (c) => changes.push(c));
  const stopDash = h.queries.subscribe('job-dashboard', (c) => dashboards.push(c));
  try {
    const fixture = fromFixture().filter((e) => e.stream === 'job-fx-retry-then-success');
    const waiting = h.queries.waitFor('job-view', (s) => (s as JobView | undefined)?.status === 'completed', {
      partition: 'job-fx-retry-then-success',
      timeoutMs: 5000,
    });
    await appendAll(store, fixture.slice(0, 1));
    await waitFor(() => changes.length >= 1, 5000, 'the first change');
    assert.equal(changes[0], { partition: 'job-fx-retry-then-success', state: asJson(fold([asJobEvent(fixture[0] as StoredEvent)])) });
    await appendAll(store, fixture.slice(1));
    const done = (await waiting) as JobView;
    assert.is(done.attempts, 3);
    await waitFor(() => changes.some((c) => (c.state as JobView).status === 'completed'), 5000, 'the completed view');
    assert.ok(changes.every((c) => c.partition === 'job-fx-retry-then-success'));
    await waitFor(() => dashboards.length > 0, 5000, 'a dashboard change');
    assert.ok(
      dashboards.every((c) => c.partition === undefined),
      'a bi-state projection publishes its shared state only',
    );
  } finally {
    stopViews();
    stopDash();
    await h.stop();
    await store.close();
  }
});

test('lease: two processes on one file; one advances, the other reads its state, then takes over from its checkpoint', async () => {
  const dir = tempDir();
  const path = `${dir.path}/events.db`;
  const files = [writeProjection(dir.path, 'counter', countingProjection('job'))];
  const storeA = makeEmbeddedEventStore({ path, pollIntervalMs: 20 });
  const storeB = makeEmbeddedEventStore({ path, pollIntervalMs: 20 });
  let a: ProjectionsHandle | undefined;
  let b: ProjectionsHandle | undefined;
  const seenByB: ProjectionChange[] = [];
  try {
    a = await run({ store: storeA, files, holderId: 'process-a', leaseTtlMs: 2000 });
    assert.ok(a.isLeader(), 'the first process takes the lease');
    b = await run({ store: storeB, files, holderId: 'process-b', leaseTtlMs: 2000 });
    const stopWatching = b.queries.subscribe('counter', (c) => seenByB.push(c));
    await observeFor(200);
    assert.is(b.isLeader(), false, 'the second one waits');
    assert.is(b.status()[0]?.status, 'idle');

    await appendAll(
      storeB,
      Array.from({ length: 20 }, (_, i) => ({ stream: `job-l${i % 4}`, type: 'Noise', data: { i } })),
    );
    await a.caughtUp({ timeoutMs: 5000 });
    assert.equal(await b.queries.getState('counter'), { n: 20, last: 'job-l3@4' }, 'the waiting process reads the state the holder keeps');
    await waitFor(
      () => seenByB.some((c) => (c.state as { n: number } | undefined)?.n === 20),
      5000,
      'a change seen by the waiting process',
    );
    assert.is(b.status()[0]?.delivered, 0, 'and folds nothing itself');

    await a.stop();
    await waitFor(() => b?.isLeader() === true, 5000, 'the second process to take over');
    await appendAll(
      storeA,
      Array.from({ length: 5 }, (_, i) => ({ stream: `job-l${i}`, type: 'Noise', data: { i } })),
    );
    await b.caughtUp({ timeoutMs: 5000 });
    assert.equal(await b.queries.getState('counter'), { n: 25, last: 'job-l4@0' }, 'every event folded exactly once');
    assert.is(b.status()[0]?.delivered, 5, 'the new holder resumed from the checkpoint');
    assert.is(a.status()[0]?.delivered, 20);
    stopWatching();
  } finally {
    await a?.stop();
    await b?.stop();
    await storeA.close();
    await storeB.close();
    dir.remove();
  }
});

test('lease: a holder whose lease expired cannot commit; the process that took over advances alone', async () => {
  const dir = tempDir();
  const path = `${dir.path}/events.db`;
  const files = [writeProjection(dir.path, 'counter', countingProjection('job'))];
  const storeA: EmbeddedEventStore = makeEmbeddedEventStore({ path, pollIntervalMs: 20 });
  const storeB: EmbeddedEventStore = makeEmbeddedEventStore({ path, pollIntervalMs: 20 });
  let a: ProjectionsHandle | undefined;
  let b: ProjectionsHandle | undefined;
  try {
    // A's clock runs a minute late: every lease it writes has expired for everyone else.
    a = await run({ store: storeA, files, holderId: 'stalled-a', leaseTtlMs: 3000, now: () => Date.now() - 60_000 });
    assert.ok(a.isLeader());
    b = await run({ store: storeB, files, holderId: 'live-b', leaseTtlMs: 3000 });
    await waitFor(() => b?.isLeader() === true, 5000, 'B to take the expired lease');
    await appendAll(
      storeB,
      Array.from({ length: 30 }, (_, i) => ({ stream: `job-x${i % 3}`, type: 'Noise', data: { i } })),
    );
    await b.caughtUp({ timeoutMs: 5000 });
    await waitFor(() => a?.isLeader() === false, 5000, 'A to find it lost the lease');
    assert.equal(await b.queries.getState('counter'), { n: 30, last: 'job-x2@9' }, 'folded exactly once');
    assert.is(a.status()[0]?.delivered, 0, 'A committed nothing');
    assert.is(b.status()[0]?.delivered, 30);
  } finally {
    await a?.stop();
    await b?.stop();
    await storeA.close();
    await storeB.close();
    dir.remove();
  }
});

test.run();
