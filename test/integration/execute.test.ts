import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { makeMemoryBroker, type Broker, type Delivery } from '../../src/broker/index.js';
import { makeJobStore, type JobStore } from '../../src/jobStore/index.js';
import { defineWorker, makeWorkerRegistry, NonRetryableError, type Worker } from '../../src/worker/index.js';
import { enqueueJob, makeRunningAttempts, makeWorkHandler, type ConductorDeps } from '../../src/conductor/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { TransitionRejectedError } from '../../src/conductor/index.js';
import { replay, type JobView } from '../../src/job/index.js';
import { silentLogger } from '../../src/log/index.js';
import { waitFor } from '../support/waitFor.js';
import { readyTestStore, testJobId, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

// The job ids the tests fix: made unique per run on a shared EventStoreDB (testJobId), themselves on SQLite.
const order42 = testJobId('order-42');
const x1 = testJobId('x1');
const x2 = testJobId('x2');
const x3 = testJobId('x3');
const race1 = testJobId('race-1');
const kept1 = testJobId('kept-1');
const kept2 = testJobId('kept-2');
const lost1 = testJobId('lost-1');
const dup1 = testJobId('dup-1');
const ghost = testJobId('ghost');
const badPayload = testJobId('bad-payload');
const unknownWorker = testJobId('unknown-worker');

interface Ctx {
  store: StoreBackend;
  broker: Broker;
  engines: Engine[];
}
const test = suite<Ctx>(`execute and the conductor (${testStoreLabel}, in-process broker)`);

test.before(readyTestStore);
test.before.each(async (ctx) => {
  ctx.store = await makeStore(testMemoryStoreUrl());
  ctx.broker = makeMemoryBroker();
  ctx.engines = [];
});
test.after.each(async (ctx) => {
  for (const e of ctx.engines) await e.close({ gracePeriodMs: 0 });
  await ctx.broker.close();
  await ctx.store.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const engineOn = async (ctx: Ctx, workers: Worker<any>[], extra: Partial<Parameters<typeof createEngine>[0]> = {}) => {
  const engine = await createEngine({ store: ctx.store, broker: ctx.broker, workers, ...extra });
  ctx.engines.push(engine);
  return engine;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const depsOn = (ctx: Ctx, workers: Worker<any>[]): ConductorDeps & { jobs: JobStore } => ({
  jobs: makeJobStore(ctx.store, { engineVersion: 'test' }),
  broker: ctx.broker,
  registry: makeWorkerRegistry(workers),
  log: silentLogger,
  now: () => new Date(),
  random: () => 0,
  processId: `test:${process.pid}:${randomUUID().slice(0, 8)}`,
  backoff: async () => false,
});

const delivery = (body: object, redelivered = false): Delivery => ({
  queue: 'jobtrail.work.default',
  body: Buffer.from(JSON.stringify(body)),
  messageId: randomUUID(),
  redelivered,
  headers: {},
  correlationId: undefined,
  replyTo: undefined,
  contentType: 'application/json',
});

const types = async (engine: Engine, jobId: string) => (await engine.history(jobId)).map((e) => e.event.type);

const validHistory = async (engine: Engine, jobId: string) => {
  const r = replay((await engine.history(jobId)).map((e) => e.event));
  assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
};

test('a job runs: JobEnqueued → JobStarted → JobCompleted, with result and backgroundJobId', async (ctx) => {
  const w = defineWorker({ name: 'echo', action: async (p: unknown) => ({ echoed: p }) });
  const engine = await engineOn(ctx, [w]);
  await engine.start();
  const { jobId, created } = await engine.enqueue('echo', { n: 1 });
  assert.ok(created);
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 5000 });
  assert.is(view!.status, 'completed');
  assert.equal(view!.result, { echoed: { n: 1 } });
  assert.equal(await types(engine, jobId), ['JobEnqueued', 'JobStarted', 'JobCompleted']);
  const started = (await engine.history(jobId))[1]!;
  assert.type(view!.backgroundJobId, 'string');
  assert.is(started.metadata['$correlationId'], jobId);
  assert.type(started.metadata['$causationId'], 'string');
});

test('the same jobId enqueued twice makes one job', async (ctx) => {
  const w = defineWorker({ name: 'noop', action: async () => undefined });
  const engine = await engineOn(ctx, [w]);
  const a = await engine.enqueue('noop', {}, { jobId: order42 });
  const b = await engine.enqueue('noop', {}, { jobId: order42 });
  assert.ok(a.created);
  assert.not.ok(b.created);
  assert.equal(await types(engine, order42), ['JobEnqueued']);
});

test('enqueue refuses an unknown worker, an invalid payload, a bad jobId, a bad runAt and options that are not an object, recording nothing', async (ctx) => {
  const w = defineWorker({ name: 'typed', payload: t.type({ to: t.string }), action: async () => undefined });
  const engine = await engineOn(ctx, [w]);
  const refused = async (f: () => Promise<unknown>, reason: string, text: RegExp) => {
    try {
      await f();
      assert.unreachable('should have been refused');
    } catch (error) {
      assert.is((error as { reason?: string }).reason, reason);
      assert.match((error as Error).message, text);
    }
  };
  await refused(() => engine.enqueue('tyepd', { to: 'x' }, { jobId: x1 }), 'UnknownWorker', /unknown worker "tyepd"; registered: typed/);
  await refused(() => engine.enqueue('typed', { to: 5 }, { jobId: x2 }), 'InvalidPayload', /to/);
  await refused(() => engine.enqueue('typed', { to: 'a' }, { jobId: 'has space' }), 'InvalidOptions', /jobId/);
  await refused(() => engine.enqueue('typed', { to: 'a' }, { jobId: x3, runAt: 'tomorrow' }), 'InvalidOptions', /runAt/);
  // Options that are not an object (from untyped callers): refused like enqueueMany's, not a TypeError or silently ignored.
  await refused(() => engine.enqueue('typed', { to: 'a' }, null as never), 'InvalidOptions', /^options must be an object; got null/);
  await refused(() => engine.enqueue('typed', { to: 'a' }, 'fast' as never), 'InvalidOptions', /^options must be an object; got "fast"/);
  for (const id of [x1, x2, x3]) assert.equal(await engine.history(id), []);
});

test('two consumers racing on one delivery start the job once', async (ctx) => {
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const w = defineWorker({
    name: 'slow',
    action: async () => {
      runs++;
      await gate;
    },
  });
  const deps = depsOn(ctx, [w]);
  const enq = await enqueueJob(deps, 'slow', {}, { jobId: race1 });
  assert.ok(E.isRight(enq));
  const handlerA = makeWorkHandler({ ...deps, processId: 'A' }, makeRunningAttempts());
  const handlerB = makeWorkHandler({ ...deps, processId: 'B' }, makeRunningAttempts());
  const d = delivery({ jobId: race1, attempt: 1 });
  const both = Promise.all([handlerA(d), handlerB(d)]);
  await new Promise((r) => setTimeout(r, 50));
  release();
  const dispositions = await both;
  assert.is(runs, 1);
  assert.equal(dispositions.map((x) => x._tag).sort(), ['Ack', 'Ack']);
  const history = await deps.jobs.history(race1)();
  assert.ok(E.isRight(history));
  if (E.isRight(history))
    assert.equal(
      history.right.map((e) => e.event.type),
      ['JobEnqueued', 'JobStarted', 'JobCompleted'],
    );
});

test('a delivery the store cannot read is kept and decided again, not handed back, until the store answers; after maxKeepMs it is handed back', async (ctx) => {
  const w = defineWorker({ name: 'kept', action: async () => 'ok' });
  const base = depsOn(ctx, [w]);
  await enqueueJob(base, 'kept', {}, { jobId: kept1 });
  await enqueueJob(base, 'kept', {}, { jobId: kept2 });
  let clock = Date.parse('2026-11-29T00:00:00Z');
  let downFor = 0; // reads refused before the store answers again
  let refused = 0;
  const jobs: JobStore = Object.assign(Object.create(base.jobs) as JobStore, {
    cached: () => undefined,
    load: (jobId: string) => async () => {
      if (refused < downFor) {
        refused++;
        return E.left({ _tag: 'StoreUnavailable' as const, message: 'down (test)' });
      }
      return base.jobs.load(jobId)();
    },
  });
  const pauses: number[] = [];
  const deps: ConductorDeps = {
    ...base,
    jobs,
    now: () => new Date(clock),
    pause: async (tries) => {
      pauses.push(tries);
      clock += 60_000; // a minute a pause, on the test's clock
      return true;
    },
  };
  const handler = makeWorkHandler(deps, makeRunningAttempts());

  downFor = 3;
  assert.equal(await handler(delivery({ jobId: kept1, attempt: 1 })), { _tag: 'Ack' }, 'decided once the store answered');
  assert.equal(pauses, [1, 2, 3]);
  const history = await base.jobs.history(kept1)();
  assert.ok(E.isRight(history));
  if (E.isRight(history))
    assert.equal(
      history.right.map((e) => e.event.type),
      ['JobEnqueued', 'JobStarted', 'JobCompleted'],
    );

  // Down for good: kept for 10 minutes of the clock, then handed back (a RabbitMQ consumer_timeout must not expire first).
  refused = 0;
  downFor = Number.POSITIVE_INFINITY;
  pauses.length = 0;
  assert.equal(await handler(delivery({ jobId: kept2, attempt: 1 })), { _tag: 'Requeue' });
  assert.is(pauses.length, 10);
  assert.equal(await makeWorkHandler({ ...deps, maxKeepMs: 0 }, makeRunningAttempts())(delivery({ jobId: kept2, attempt: 1 })), {
    _tag: 'Requeue',
  });
  assert.is(pauses.length, 10, 'maxKeepMs 0: handed back at once');

  // An engine that stops hands a kept delivery back at once.
  const stopped = makeWorkHandler({ ...deps, pause: async () => false }, makeRunningAttempts());
  assert.equal(await stopped(delivery({ jobId: kept2, attempt: 1 })), { _tag: 'Requeue' });
});

test('a redelivered attempt in progress is recorded as WorkerLost and retried', async (ctx) => {
  const w = defineWorker({ name: 'flaky-host', retryDelay: () => 10, action: async () => 'done' });
  const deps = depsOn(ctx, [w]);
  await enqueueJob(deps, 'flaky-host', {}, { jobId: lost1 });
  // A process started attempt 1, then died holding the delivery.
  const loaded = await deps.jobs.load(lost1)();
  assert.ok(E.isRight(loaded));
  if (E.isLeft(loaded)) return;
  const { setToInProgress, isoDate } = await import('../../src/job/index.js');
  const started = await deps.jobs.transition(
    loaded.right,
    (s) => setToInProgress(s, { workerId: 'dead:1:x', backgroundJobId: 'm1', startedAt: isoDate(new Date()) }),
    {
      correlationId: lost1,
      causationId: 'm1',
    },
  )();
  assert.ok(E.isRight(started));
  const engine = await engineOn(ctx, [w], { recover: false });
  await engine.start();
  const handler = makeWorkHandler(deps, makeRunningAttempts());
  const settled = await handler(delivery({ jobId: lost1, attempt: 1 }, true));
  assert.is(settled._tag, 'Ack');
  const [view] = await engine.waitForFinal([lost1], { timeoutMs: 5000 });
  assert.is(view!.status, 'completed');
  assert.is(view!.attempts, 2);
  const history = await engine.history(lost1);
  assert.equal(
    history.map((e) => e.event.type),
    ['JobEnqueued', 'JobStarted', 'JobErrored', 'JobReset', 'JobStarted', 'JobCompleted'],
  );
  const errored = history[2]!.event;
  assert.ok(errored.type === 'JobErrored' && errored.data.error.name === 'WorkerLost');
  await validHistory(engine, lost1);
});

test('a duplicate message is acked and changes nothing; a non-redelivered copy of a running attempt too', async (ctx) => {
  const w = defineWorker({ name: 'once', action: async () => 1 });
  const deps = depsOn(ctx, [w]);
  await enqueueJob(deps, 'once', {}, { jobId: dup1 });
  const handler = makeWorkHandler(deps, makeRunningAttempts());
  const d = delivery({ jobId: dup1, attempt: 1 });
  assert.is((await handler(d))._tag, 'Ack');
  const before = await deps.jobs.history(dup1)();
  assert.is((await handler(d))._tag, 'Ack');
  assert.is((await handler({ ...d, redelivered: true }))._tag, 'Ack');
  const after = await deps.jobs.history(dup1)();
  assert.ok(E.isRight(before) && E.isRight(after));
  if (E.isRight(before) && E.isRight(after)) {
    assert.is(after.right.length, before.right.length);
    assert.is(after.right.length, 3);
  }
});

test('a message for a job with no stream, and a malformed message, are dead-lettered with the reason', async (ctx) => {
  const deps = depsOn(ctx, []);
  const handler = makeWorkHandler(deps, makeRunningAttempts());
  const none = await handler(delivery({ jobId: ghost, attempt: 1 }));
  assert.is(none._tag, 'DeadLetter');
  assert.match((none as { reason: string }).reason, /no stream/);
  const bad = await handler({ ...delivery({}), body: Buffer.from('{"jobId": 5}') });
  assert.is(bad._tag, 'DeadLetter');
  assert.match((bad as { reason: string }).reason, /jobId/);
  const garbage = await handler({ ...delivery({}), body: Buffer.from([0xff, 0x00, 0x13]) });
  assert.is(garbage._tag, 'DeadLetter');
});

test('unknown worker and invalid payload are recorded as JobErrored with no retry', async (ctx) => {
  const loose = defineWorker({ name: 'mail', action: async () => undefined });
  const other = defineWorker({ name: 'gone', action: async () => undefined });
  const producer = await engineOn(ctx, [loose, other]);
  await producer.enqueue('mail', { to: 42 }, { jobId: badPayload });
  await producer.enqueue('gone', {}, { jobId: unknownWorker });
  const strict = defineWorker({ name: 'mail', payload: t.type({ to: t.string }), action: async () => undefined });
  const consumer = await engineOn(ctx, [strict]);
  await consumer.start();
  // The memory broker dispatches attempt 1 of both; the strict engine consumes `default`.
  const [a, b] = await consumer.waitForFinal([badPayload, unknownWorker], { timeoutMs: 5000 });
  assert.is(a!.status, 'errored');
  assert.is(a!.lastError!.name, 'InvalidPayload');
  assert.match(a!.lastError!.message, /to/);
  assert.is(a!.retryAt, undefined);
  assert.is(b!.lastError!.name, 'UnknownWorker');
  assert.match(b!.lastError!.message, /unknown worker "gone"; registered: mail/);
  await validHistory(consumer, badPayload);
  await validHistory(consumer, unknownWorker);
});

test('a failing action is retried until it succeeds; a NonRetryableError fails for good; a thrown string is readable', async (ctx) => {
  const seen: number[] = [];
  const flaky = defineWorker({
    name: 'flaky',
    retryDelay: () => 20,
    action: async (_p, c) => {
      seen.push(c.attempt);
      if (c.attempt < 3) throw new Error(`boom ${c.attempt}`);
      return 'ok';
    },
  });
  const fatal = defineWorker({ name: 'fatal', action: async () => Promise.reject(new NonRetryableError('no such account')) });
  const stringy = defineWorker({
    name: 'stringy',
    maxAttempts: 2,
    retryDelay: () => 10,
    action: async () => {
      throw 'plain string';
    },
  });
  const engine = await engineOn(ctx, [flaky, fatal, stringy]);
  await engine.start();
  const ids = [
    (await engine.enqueue('flaky', {})).jobId,
    (await engine.enqueue('fatal', {})).jobId,
    (await engine.enqueue('stringy', {})).jobId,
  ];
  const [f, n, s] = await engine.waitForFinal(ids, { timeoutMs: 10_000 });
  assert.is(f!.status, 'completed');
  assert.is(f!.attempts, 3);
  assert.equal(seen, [1, 2, 3]);
  assert.is(n!.status, 'errored');
  assert.is(n!.attempts, 1);
  assert.is(n!.retryAt, undefined);
  assert.is(n!.lastError!.name, 'NonRetryableError');
  assert.is(s!.status, 'errored');
  assert.is(s!.attempts, 2);
  assert.is(s!.lastError!.name, 'NonErrorThrown');
  assert.match(s!.lastError!.message, /plain string/);
  for (const id of ids) await validHistory(engine, id);
  assert.equal(await types(engine, ids[0]!), [
    'JobEnqueued',
    'JobStarted',
    'JobErrored',
    'JobReset',
    'JobStarted',
    'JobErrored',
    'JobReset',
    'JobStarted',
    'JobCompleted',
  ]);
});

test('timeoutMs aborts the signal and records Timeout; a late result of an action that ignores it is not recorded', async (ctx) => {
  let aborted = false;
  const stubborn = defineWorker({
    name: 'stubborn',
    timeoutMs: 50,
    maxAttempts: 1,
    action: async (_p, c) => {
      c.signal.addEventListener('abort', () => (aborted = true));
      await new Promise((r) => setTimeout(r, 200));
      return 'too late';
    },
  });
  const engine = await engineOn(ctx, [stubborn]);
  await engine.start();
  const { jobId } = await engine.enqueue('stubborn', {});
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 5000 });
  assert.ok(aborted);
  assert.is(view!.status, 'errored');
  assert.is(view!.lastError!.name, 'Timeout');
  // Its late return is recorded as such (docs/running.md#timed-out-still-running), never its result.
  await waitFor(async () => (await types(engine, jobId)).length === 4, 5000, 'the late return');
  assert.equal(await types(engine, jobId), ['JobEnqueued', 'JobStarted', 'JobErrored', 'JobActionReturned']);
});

test('ctx.signal is made on first use: read only after the timeout it is already aborted; read after the action settled, too', async (ctx) => {
  const seen: { late?: { aborted: boolean; reason: unknown }; after?: Promise<{ aborted: boolean; reason: unknown }> } = {};
  const slow = defineWorker({
    name: 'reads-signal-late',
    timeoutMs: 30,
    maxAttempts: 1,
    action: async (_p, c) => {
      await new Promise((r) => setTimeout(r, 120));
      seen.late = { aborted: c.signal.aborted, reason: c.signal.reason };
    },
  });
  const quick = defineWorker({
    name: 'reads-signal-after',
    action: async (_p, c) => {
      // Looked at once the attempt is over (a leaked callback in user code).
      seen.after = new Promise((resolve) => setTimeout(() => resolve({ aborted: c.signal.aborted, reason: c.signal.reason }), 50));
      return 'done';
    },
  });
  const engine = await engineOn(ctx, [slow, quick]);
  await engine.start();
  const a = await engine.enqueue('reads-signal-late', {});
  const b = await engine.enqueue('reads-signal-after', {});
  const [va, vb] = await engine.waitForFinal([a.jobId, b.jobId], { timeoutMs: 5000 });
  assert.is(va!.lastError!.name, 'Timeout');
  assert.is(vb!.status, 'completed');
  await waitFor(() => seen.late !== undefined, 5000, 'the late action to read its signal');
  assert.equal(seen.late, { aborted: true, reason: 'timeout' });
  assert.equal(await seen.after, { aborted: true, reason: 'settled' });
  await waitFor(async () => (await types(engine, a.jobId)).length === 4, 5000, 'the late return');
  assert.equal(await types(engine, a.jobId), ['JobEnqueued', 'JobStarted', 'JobErrored', 'JobActionReturned']);
});

test('progress is recorded as JobProgressed events of the attempt', async (ctx) => {
  const w = defineWorker({
    name: 'importer',
    action: async (_p, c) => {
      await c.progress(50, 'half');
      await c.progress(100, 'all');
      return 'ok';
    },
  });
  const engine = await engineOn(ctx, [w]);
  await engine.start();
  const { jobId } = await engine.enqueue('importer', {});
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 5000 });
  assert.equal(view!.progress, { at: view!.progress!.at, percent: 100, message: 'all' });
  assert.equal(await types(engine, jobId), ['JobEnqueued', 'JobStarted', 'JobProgressed', 'JobProgressed', 'JobCompleted']);
});

test("ctx can be taken apart: a destructured progress records, a destructured signal is the attempt's", async (ctx) => {
  let seen: { jobId: string; attempt: number; aborted: boolean } | undefined;
  const w = defineWorker({
    name: 'destructures-ctx',
    action: async (_p, { jobId, attempt, signal, progress }) => {
      await progress(40, 'alone');
      seen = { jobId, attempt, aborted: signal.aborted };
      return 'ok';
    },
  });
  const engine = await engineOn(ctx, [w]);
  await engine.start();
  const { jobId } = await engine.enqueue('destructures-ctx', {});
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 5000 });
  assert.is(view!.status, 'completed');
  assert.equal(seen, { jobId, attempt: 1, aborted: false });
  assert.equal(view!.progress, { at: view!.progress!.at, percent: 40, message: 'alone' });
  assert.equal(await types(engine, jobId), ['JobEnqueued', 'JobStarted', 'JobProgressed', 'JobCompleted']);
});

test('retry and cancel are recorded with who did it; refused ones say why', async (ctx) => {
  const w = defineWorker({
    name: 'fails-once',
    maxAttempts: 1,
    action: async (_p, c) => (c.attempt === 1 ? Promise.reject(new Error('first')) : 'second'),
  });
  const engine = await engineOn(ctx, [w]);
  await engine.start();
  const { jobId } = await engine.enqueue('fails-once', {});
  const [failed] = await engine.waitForFinal([jobId], { timeoutMs: 5000 });
  assert.is(failed!.status, 'errored');
  const reset = await engine.retry(jobId, { by: 'ada' });
  assert.is(reset.status, 'initial');
  let done: JobView | undefined;
  for (let i = 0; i < 100 && done?.status !== 'completed'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    done = await engine.getJob(jobId);
  }
  assert.is(done!.status, 'completed');
  assert.is(done!.attempts, 2);
  const resetEvent = (await engine.history(jobId)).find((e) => e.event.type === 'JobReset')!;
  assert.equal(resetEvent.event.data, { at: (resetEvent.event.data as { at: string }).at, reason: 'manual', by: 'ada' });
  try {
    await engine.cancel(jobId, { by: 'ada' });
    assert.unreachable('cancelling a completed job must be refused');
  } catch (error) {
    assert.instance(error, TransitionRejectedError);
    assert.match((error as Error).message, /cannot cancel job .* completed/);
  }
  const waiting = await engine.enqueue('fails-once', {}, { runAt: new Date(Date.now() + 60_000) });
  const cancelled = await engine.cancel(waiting.jobId, { by: 'grace', reason: 'not needed' });
  assert.is(cancelled.status, 'cancelled');
});

test.run();
