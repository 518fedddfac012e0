// OpenTelemetry with an SDK registered (docs/tracing.md), in embedded mode:
// one trace from the enqueue through every attempt, the trace context kept in
// the events' metadata, and log lines that carry the job and the trace.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import * as E from 'fp-ts/lib/Either.js';
import { makeStore } from '../../src/backends/index.js';
import { makeMemoryBroker } from '../../src/broker/index.js';
import { enqueueJob, makeRunningAttempts, makeWorkHandler } from '../../src/conductor/index.js';
import { makeJobStore } from '../../src/jobStore/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { defineWorker, makeWorkerRegistry } from '../../src/worker/index.js';
import { formatHistory } from '../../src/present/index.js';
import { waitFor } from '../support/waitFor.js';
import { capturedLogger, exporter, parentOf, registerTestSdk, spansOfJob, traceparentOf, unregisterTestSdk } from '../support/tracing.js';

const test = suite<{ engines: Engine[] }>('tracing: one trace from enqueue to the last attempt (embedded)');
test.before(registerTestSdk);
test.after(unregisterTestSdk);
test.before.each((ctx) => {
  ctx.engines = [];
  exporter.reset();
});
test.after.each(async (ctx) => {
  for (const e of ctx.engines) await e.close({ gracePeriodMs: 0 });
});

// Asked for in each test: the SDK is registered for the suite only.
const userTracer = () => trace.getTracer('test-app');

test('enqueue → attempt 1 (throws) → attempt 2 (completes) is one trace; the events keep its context; the action runs in the attempt span', async (ctx) => {
  const { logger, lines, raw } = capturedLogger();
  const innerSpans: string[] = [];
  const flaky = defineWorker({
    name: 'flaky',
    maxAttempts: 3,
    retryDelay: () => 20,
    action: async (_p: unknown, jobCtx) => {
      // A span the application makes inside its action is a child of the attempt's.
      userTracer().startActiveSpan('charge-card', (s) => {
        innerSpans.push(s.spanContext().spanId);
        s.end();
      });
      jobCtx.log.info({ step: 'charging' }, 'from the action');
      if (jobCtx.attempt === 1) throw new Error('card declined');
      return 'ok';
    },
  });
  const engine = await createEngine({ store: 'sqlite::memory:', broker: 'memory', workers: [flaky], logger });
  ctx.engines.push(engine);
  await engine.start();

  const jobId = `traced-${randomUUID()}`;
  const request = userTracer().startSpan('POST /orders');
  await context.with(trace.setSpan(context.active(), request), () => engine.enqueue('flaky', { n: 1 }, { jobId }));
  request.end();
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  assert.is(view?.status, 'completed');
  await waitFor(() => spansOfJob(jobId).filter((s) => s.kind === SpanKind.CONSUMER).length === 2, 5_000, 'two attempt spans');

  const traceId = request.spanContext().traceId;
  const spans = spansOfJob(jobId);
  const send = spans.find((s) => s.kind === SpanKind.PRODUCER)!;
  assert.ok(send, 'a PRODUCER span for the enqueue');
  assert.is(send.name, 'send default');
  assert.is(send.spanContext().traceId, traceId, 'the enqueue joins the caller’s trace');
  assert.is(parentOf(send), request.spanContext().spanId);
  assert.equal(
    {
      system: send.attributes['messaging.system'],
      op: send.attributes['messaging.operation.type'],
      dest: send.attributes['messaging.destination.name'],
      id: send.attributes['messaging.message.id'],
      worker: send.attributes['jobtrail.worker'],
      created: send.attributes['jobtrail.job.created'],
    },
    { system: 'jobtrail', op: 'send', dest: 'default', id: jobId, worker: 'flaky', created: true },
  );

  const attempts = spans
    .filter((s) => s.kind === SpanKind.CONSUMER)
    .sort((a, b) => Number(a.attributes['jobtrail.attempt']) - Number(b.attributes['jobtrail.attempt']));
  assert.is(attempts.length, 2);
  const [first, second] = attempts as [(typeof attempts)[0], (typeof attempts)[0]];
  for (const a of attempts) {
    assert.is(a.name, 'process default');
    assert.is(a.spanContext().traceId, traceId, 'every attempt is in the enqueue’s trace');
    assert.is(parentOf(a), send.spanContext().spanId, 'every attempt, the retry too, is a child of the enqueue’s send span');
    assert.is(a.attributes['messaging.operation.type'], 'process');
    assert.is(a.attributes['messaging.system'], 'jobtrail');
    assert.is(a.attributes['jobtrail.job.id'], jobId);
    assert.is(a.attributes['jobtrail.worker'], 'flaky');
  }
  assert.is(first.attributes['jobtrail.attempt'], 1);
  assert.is(first.attributes['jobtrail.outcome'], 'errored');
  assert.is(first.status.code, SpanStatusCode.ERROR);
  assert.match(String(first.status.message), 'card declined');
  assert.is(first.attributes['error.type'], 'Error');
  assert.ok(
    first.events.some((e) => e.name === 'exception'),
    'the exception is recorded on the span',
  );
  assert.ok(typeof first.attributes['jobtrail.retry_at'] === 'string');
  assert.is(second.attributes['jobtrail.attempt'], 2);
  assert.is(second.attributes['jobtrail.outcome'], 'completed');
  assert.is(second.status.code, SpanStatusCode.UNSET);

  // The application's span inside the action is a child of its attempt's span.
  const inner = exporter.getFinishedSpans().filter((s) => innerSpans.includes(s.spanContext().spanId));
  assert.is(inner.length, 2);
  assert.equal(inner.map(parentOf).sort(), [first.spanContext().spanId, second.spanContext().spanId].sort());

  // The events keep the trace context: JobEnqueued the send span's, each attempt's events their span's.
  const history = await engine.history(jobId);
  const tp = (type: string, attempt?: number) =>
    history.find((e) => e.event.type === type && (attempt === undefined || (e.event.data as { attempt?: number }).attempt === attempt))
      ?.metadata.traceparent;
  assert.is(tp('JobEnqueued'), `00-${traceId}-${send.spanContext().spanId}-01`);
  assert.is(tp('JobStarted', 1), `00-${traceId}-${first.spanContext().spanId}-01`);
  assert.is(tp('JobErrored', 1), `00-${traceId}-${first.spanContext().spanId}-01`);
  assert.is(tp('JobStarted', 2), `00-${traceId}-${second.spanContext().spanId}-01`);
  assert.is(tp('JobCompleted', 2), `00-${traceId}-${second.spanContext().spanId}-01`);
  // `jobtrail history` shows where the trace begins.
  const text = formatHistory(history);
  assert.match(text, `trace ${traceId} span ${send.spanContext().spanId}`);
  assert.match(text, `trace ${traceId} span ${second.spanContext().spanId}`);

  // The action's log lines carry the job, the worker, the attempt and the trace.
  const fromAction = lines.filter((l) => l.msg === 'from the action');
  assert.equal(
    fromAction.map((l) => [l.jobId, l.worker, l.attempt, l.traceId, l.spanId, l.step]),
    [
      [jobId, 'flaky', 1, traceId, first.spanContext().spanId, 'charging'],
      [jobId, 'flaky', 2, traceId, second.spanContext().spanId, 'charging'],
    ],
  );
  for (const r of raw.filter((x) => x.includes('from the action'))) assert.is(r.split('"traceId"').length, 2, r);
});

test('the engine’s own log lines about an attempt carry jobId, worker, attempt and traceId', async (ctx) => {
  const { logger, lines, raw } = capturedLogger();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  // Ignores its signal past its timeout: the engine warns about it, from the attempt's logger.
  const stubborn = defineWorker({ name: 'stubborn', maxAttempts: 1, timeoutMs: 30, action: async () => released });
  const engine = await createEngine({ store: 'sqlite::memory:', broker: 'memory', workers: [stubborn], logger });
  ctx.engines.push(engine);
  await engine.start();
  const jobId = `stubborn-${randomUUID()}`;
  await engine.enqueue('stubborn', {}, { jobId });
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  assert.is(view?.lastError?.name, 'Timeout');
  await waitFor(() => lines.some((l) => String(l.msg).includes('ignores its signal')), 5_000, 'the warning');
  release();
  await waitFor(() => lines.some((l) => String(l.msg).includes('returned; its slot is free')), 5_000, 'the second warning');
  const traceId = spansOfJob(jobId)
    .find((s) => s.kind === SpanKind.PRODUCER)!
    .spanContext().traceId;
  const aboutJob = lines.filter((l) => l.jobId === jobId);
  assert.ok(aboutJob.length >= 2, `lines about the job: ${JSON.stringify(lines)}`);
  for (const l of aboutJob) assert.equal([l.worker, l.attempt, l.traceId], ['stubborn', 1, traceId], JSON.stringify(l));
  // Each field once per line (a child logger binding a key its parent bound writes it twice).
  for (const r of raw.filter((x) => x.includes(jobId)))
    for (const key of ['"jobId"', '"attempt"', '"traceId"']) assert.is(r.split(key).length, 2, r);
});

test('an enqueue that is refused ends its span with an error; one of an existing id says created: false', async (ctx) => {
  const w = defineWorker({ name: 'noop', action: async () => undefined });
  const engine = await createEngine({ store: 'sqlite::memory:', broker: 'memory', workers: [w] });
  ctx.engines.push(engine);
  const jobId = `dup-${randomUUID()}`;
  await engine.enqueue('noop', {}, { jobId });
  await engine.enqueue('noop', {}, { jobId });
  const sends = spansOfJob(jobId).filter((s) => s.kind === SpanKind.PRODUCER);
  assert.equal(
    sends.map((s) => s.attributes['jobtrail.job.created']),
    [true, false],
  );
  // A continuation of a parent that does not exist is refused after the job was named: its span says why.
  const orphan = `orphan-${randomUUID()}`;
  await engine.enqueue('noop', {}, { jobId: orphan, after: `missing-${randomUUID()}` }).then(
    () => assert.unreachable('refused'),
    () => undefined,
  );
  const [refused] = spansOfJob(orphan);
  assert.is(refused?.status.code, SpanStatusCode.ERROR);
  assert.is(refused?.attributes['error.type'], 'UnknownParent');
});

test('enqueueMany: a send span per job, each a child of the caller’s span, each job with its own context', async (ctx) => {
  const w = defineWorker({ name: 'batch', action: async () => 'ok' });
  const engine = await createEngine({ store: 'sqlite::memory:', broker: 'memory', workers: [w] });
  ctx.engines.push(engine);
  const ids = [1, 2, 3].map((i) => `batch-${i}-${randomUUID()}`);
  const request = userTracer().startSpan('import');
  await context.with(trace.setSpan(context.active(), request), () =>
    engine.enqueueMany(ids.map((jobId) => ({ workerName: 'batch', payload: {}, options: { jobId } }))),
  );
  request.end();
  const sends = ids.map((id) => spansOfJob(id).find((s) => s.kind === SpanKind.PRODUCER)!);
  for (const s of sends) assert.is(parentOf(s), request.spanContext().spanId);
  assert.is(new Set(sends.map((s) => s.spanContext().spanId)).size, 3);
  for (const [i, id] of ids.entries())
    assert.is((await engine.history(id))[0]?.metadata.traceparent, traceparentOf(sends[i]!), `${id} keeps its own send span`);
});

test('a dispatch’s header: malformed is ignored, another valid context is linked, and a job untraced at enqueue takes it as parent', async () => {
  const store = await makeStore('sqlite::memory:');
  const broker = makeMemoryBroker();
  try {
    const w = defineWorker({ name: 'plain', action: async () => 'ok' });
    const deps = {
      jobs: makeJobStore(store, { engineVersion: 'test' }),
      broker,
      registry: makeWorkerRegistry([w]),
      log: silentLogger,
      now: () => new Date(),
      random: () => 0,
      processId: `test:${process.pid}:tracing`,
      backoff: async () => false,
    };
    const handler = makeWorkHandler(deps, makeRunningAttempts());
    const deliver = (jobId: string, headers: Record<string, string | number>) =>
      handler({
        queue: 'jobtrail.work.default',
        body: Buffer.from(JSON.stringify({ jobId, attempt: 1 })),
        messageId: randomUUID(),
        redelivered: false,
        headers,
        correlationId: undefined,
        replyTo: undefined,
        contentType: 'application/json',
      });
    const foreign = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

    // Traced at enqueue; the dispatch's header is garbage: ignored, the attempt is a child of the enqueue's span.
    assert.ok(E.isRight(await enqueueJob(deps, 'plain', {}, { jobId: 'garbled' })));
    assert.equal(await deliver('garbled', { traceparent: 'garbage', tracestate: 12 }), { _tag: 'Ack' });
    const sendA = spansOfJob('garbled').find((x) => x.kind === SpanKind.PRODUCER)!;
    const [attemptA] = spansOfJob('garbled').filter((x) => x.kind === SpanKind.CONSUMER);
    assert.is(parentOf(attemptA!), sendA.spanContext().spanId);
    assert.is(attemptA!.links.length, 0);
    assert.is(attemptA!.attributes['jobtrail.outcome'], 'completed');

    // Traced at enqueue; the dispatch carries another valid context: still the enqueue's child, linked to it.
    assert.ok(E.isRight(await enqueueJob(deps, 'plain', {}, { jobId: 'other-context' })));
    assert.equal(await deliver('other-context', { traceparent: foreign }), { _tag: 'Ack' });
    const sendB = spansOfJob('other-context').find((x) => x.kind === SpanKind.PRODUCER)!;
    const [attemptB] = spansOfJob('other-context').filter((x) => x.kind === SpanKind.CONSUMER);
    assert.is(parentOf(attemptB!), sendB.spanContext().spanId);
    assert.equal(
      attemptB!.links.map((l) => [l.context.traceId, l.context.spanId]),
      [['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331']],
    );

    // Enqueued with no SDK (nothing in its stream): the dispatch's header is the parent.
    unregisterTestSdk();
    assert.ok(E.isRight(await enqueueJob(deps, 'plain', {}, { jobId: 'untraced' })));
    const untraced = await deps.jobs.history('untraced')();
    assert.is(E.isRight(untraced) ? untraced.right[0]?.metadata.traceparent : 'unread', undefined, 'no trace recorded without an SDK');
    registerTestSdk();
    assert.equal(await deliver('untraced', { traceparent: foreign }), { _tag: 'Ack' });
    const [attemptC] = spansOfJob('untraced');
    assert.is(attemptC!.kind, SpanKind.CONSUMER);
    assert.is(attemptC!.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.is(parentOf(attemptC!), 'b7ad6b7169203331');
  } finally {
    await broker.close();
    await store.close();
  }
});

test.run();
