// OpenTelemetry over RabbitMQ (docs/tracing.md): the trace context travels as
// header `traceparent` on work messages and enqueue commands, through delayed
// retries, and a producer in another language continues its trace by setting
// the header on its command. A malformed header is ignored.
import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { makeRabbitBroker, type Broker, type Delivery } from '../../src/broker/index.js';
import { createEngine } from '../../src/engine.js';
import { createProducer } from '../../src/producer/index.js';
import { defineWorker, type Worker } from '../../src/worker/index.js';
import { openRawChannel, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';
import { queueOf, rabbitEngineSuite, type RabbitEngineCtx } from '../support/rabbitEngineSuite.js';
import { exporter, parentOf, registerTestSdk, spansOfJob, unregisterTestSdk, traceparentOf } from '../support/tracing.js';

const test = rabbitEngineSuite('tracing over RabbitMQ: headers, delayed retries, foreign producers');
test.before(registerTestSdk);
test.after(unregisterTestSdk);
test.before.each(() => exporter.reset());

// Asked for in each test: the SDK is registered for the suite only.
const userTracer = () => trace.getTracer('test-app');

/** The broker, with every publish and delivery of the work queues seen. */
const watched = (broker: Broker) => {
  const published: { queue: string; headers: Record<string, unknown>; body: string }[] = [];
  const delivered: Delivery[] = [];
  const proxy = new Proxy(broker, {
    get(target, key, receiver) {
      if (key === 'publish')
        return (queue: string, m: Parameters<Broker['publish']>[1]) => {
          published.push({ queue, headers: { ...(m.headers ?? {}) }, body: m.body.toString('utf8') });
          return target.publish(queue, m);
        };
      if (key === 'consume')
        return (queue: string, handler: (d: Delivery) => Promise<never>, options: unknown) =>
          target.consume(
            queue,
            (d) => {
              delivered.push(d);
              return handler(d);
            },
            options as never,
          );
      const v: unknown = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { broker: proxy, published, delivered };
};

const engineOn = async (
  ctx: RabbitEngineCtx,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  workers: Worker<any>[],
  commandQueue?: string,
) => {
  const broker = await makeRabbitBroker({ url: rabbitUrl, connectionName: `jobtrail-test-${randomUUID()}` });
  ctx.brokers.push(broker);
  if (commandQueue !== undefined) ctx.queues.push(commandQueue, `${commandQueue}.rejected`);
  const w = watched(broker);
  const engine = await createEngine({
    store: ctx.store,
    broker: w.broker,
    workers,
    ...(commandQueue !== undefined ? { commandQueue } : { acceptCommands: false }),
    rememberBroker: false,
  });
  ctx.engines.push(engine);
  return { engine, ...w };
};

const attemptsOf = (jobId: string): ReadableSpan[] =>
  spansOfJob(jobId)
    .filter((s) => s.kind === SpanKind.CONSUMER)
    .sort((a, b) => Number(a.attributes['jobtrail.attempt']) - Number(b.attributes['jobtrail.attempt']));

const flakyOn = (queue: string, retryDelayMs: number) =>
  defineWorker({
    name: `flaky-${queue}`,
    queue,
    maxAttempts: 3,
    retryDelay: () => retryDelayMs,
    action: async (_p: unknown, ctx) => {
      if (ctx.attempt === 1) throw new Error('first attempt fails');
      return 'done';
    },
  });

test('engine.enqueue → attempt 1 fails → delayed retry (through the delay queues) completes: one trace, the header on every dispatch', async (ctx) => {
  const queue = queueOf(ctx);
  const w = flakyOn(queue, 1_200);
  const { engine, published, delivered } = await engineOn(ctx, [w]);
  await engine.start();
  const jobId = `rmq-traced-${randomUUID()}`;
  const request = userTracer().startSpan('POST /orders');
  await context.with(trace.setSpan(context.active(), request), () => engine.enqueue(w, {}, { jobId }));
  request.end();
  const [view] = await engine.waitForFinal([jobId], { timeoutMs: 30_000 });
  assert.is(view?.status, 'completed');
  await waitFor(() => attemptsOf(jobId).length === 2, 5_000, 'two attempt spans');

  const send = spansOfJob(jobId).find((s) => s.kind === SpanKind.PRODUCER)!;
  assert.is(send.name, `send ${queue}`);
  assert.is(send.spanContext().traceId, request.spanContext().traceId);
  assert.is(parentOf(send), request.spanContext().spanId);
  const [first, second] = attemptsOf(jobId) as [ReadableSpan, ReadableSpan];
  for (const a of [first, second]) {
    assert.is(a.spanContext().traceId, request.spanContext().traceId);
    assert.is(parentOf(a), send.spanContext().spanId);
    assert.is(a.attributes['messaging.destination.name'], queue);
    assert.is(a.links.length, 0, 'the dispatch carried the same context as the stream: nothing to link');
  }
  assert.equal([first.attributes['jobtrail.outcome'], first.status.code], ['errored', SpanStatusCode.ERROR]);
  assert.equal([second.attributes['jobtrail.outcome'], second.status.code], ['completed', SpanStatusCode.UNSET]);

  // On the wire: both dispatches (the first, and the delayed retry) carry the enqueue's traceparent, and so do their deliveries.
  const dispatches = published.filter((p) => p.queue === `jobtrail.work.${queue}` && p.body.includes(jobId));
  assert.is(dispatches.length, 2);
  for (const d of dispatches) assert.is(d.headers.traceparent, traceparentOf(send));
  const deliveries = delivered.filter((d) => d.body.toString('utf8').includes(jobId));
  assert.is(deliveries.length, 2);
  for (const d of deliveries) assert.is(d.headers.traceparent, traceparentOf(send), 'through the delay queues too');
  // The attempt spans' ids are what the events recorded.
  const history = await engine.history(jobId);
  const started = history.filter((e) => e.event.type === 'JobStarted').map((e) => e.metadata.traceparent);
  assert.equal(started, [traceparentOf(first), traceparentOf(second)]);
});

test('a foreign producer (plain AMQP) sets traceparent on its command: the job’s enqueue and attempts join its trace', async (ctx) => {
  const queue = queueOf(ctx);
  const commandQueue = `jobtrail.enqueue.test-${randomUUID()}`;
  const w = flakyOn(queue, 50);
  const { engine } = await engineOn(ctx, [w], commandQueue);
  await engine.start();
  const foreignTrace = randomUUID().replaceAll('-', '');
  const foreignSpan = randomUUID().replaceAll('-', '').slice(0, 16);
  const traceparent = `00-${foreignTrace}-${foreignSpan}-01`;
  const jobId = `foreign-${randomUUID()}`;
  const raw = await openRawChannel();
  try {
    raw.channel.sendToQueue(commandQueue, Buffer.from(JSON.stringify({ workerName: w.name, payload: {}, jobId })), {
      persistent: true,
      contentType: 'application/json',
      headers: { traceparent, tracestate: 'vendor=abc' },
    });
    const [view] = await engine.waitForFinal([jobId], { timeoutMs: 20_000 });
    assert.is(view?.status, 'completed');
  } finally {
    await raw.close();
  }
  await waitFor(() => attemptsOf(jobId).length === 2, 5_000, 'two attempt spans');
  const command = exporter.getFinishedSpans().find((s) => s.name === `process ${commandQueue}`)!;
  assert.ok(command, 'a CONSUMER span for the command');
  assert.is(command.kind, SpanKind.CONSUMER);
  assert.is(command.spanContext().traceId, foreignTrace);
  assert.is(parentOf(command), foreignSpan, 'a child of the producer’s span');
  assert.is(command.spanContext().traceState?.get('vendor'), 'abc', 'its tracestate is kept');
  const send = spansOfJob(jobId).find((s) => s.kind === SpanKind.PRODUCER)!;
  assert.is(parentOf(send), command.spanContext().spanId);
  for (const a of attemptsOf(jobId)) {
    assert.is(a.spanContext().traceId, foreignTrace);
    assert.is(parentOf(a), send.spanContext().spanId);
  }
  const enqueued = (await engine.history(jobId))[0]!;
  assert.is(enqueued.metadata.traceparent, traceparentOf(send));
  assert.is(enqueued.metadata.tracestate, 'vendor=abc');
});

test('a malformed traceparent (or tracestate) is ignored: the job runs in a trace of its own, nothing crashes', async (ctx) => {
  const queue = queueOf(ctx);
  const commandQueue = `jobtrail.enqueue.test-${randomUUID()}`;
  const w = defineWorker({ name: `plain-${queue}`, queue, action: async () => 'ok' });
  const { engine } = await engineOn(ctx, [w], commandQueue);
  await engine.start();
  const zeros = '0'.repeat(32);
  const bad: Record<string, unknown>[] = [
    { traceparent: 'not a traceparent' },
    { traceparent: `00-${zeros}-00f067aa0ba902b7-01` },
    { traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01' },
    { traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra' },
    { traceparent: 12345 },
    { traceparent: 'x'.repeat(5000) },
  ];
  const jobIds = bad.map((_, i) => `bad-trace-${i}-${randomUUID()}`);
  const raw = await openRawChannel();
  try {
    bad.forEach((headers, i) =>
      raw.channel.sendToQueue(commandQueue, Buffer.from(JSON.stringify({ workerName: w.name, payload: {}, jobId: jobIds[i] })), {
        persistent: true,
        contentType: 'application/json',
        headers: { ...headers, tracestate: 'ignored=with-it' },
      }),
    );
    const views = await engine.waitForFinal(jobIds, { timeoutMs: 20_000 });
    assert.ok(
      views.every((v) => v.status === 'completed'),
      'every job ran',
    );
  } finally {
    await raw.close();
  }
  for (const jobId of jobIds) {
    await waitFor(() => attemptsOf(jobId).length === 1, 5_000, `the attempt span of ${jobId}`);
    const send = spansOfJob(jobId).find((s) => s.kind === SpanKind.PRODUCER)!;
    const command = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === parentOf(send))!;
    assert.is(command.name, `process ${commandQueue}`);
    assert.is(parentOf(command), undefined, 'the command span is a root: the header was ignored');
    assert.is(command.spanContext().traceState, undefined, 'no tracestate without a valid traceparent');
    const enqueued = (await engine.history(jobId))[0]!;
    assert.is(enqueued.metadata.traceparent, traceparentOf(send), 'the job keeps its own, valid, trace context');
    assert.is(enqueued.metadata.tracestate, undefined);
  }
});

test('createProducer: its send span, the command, the enqueue and the attempt are one trace', async (ctx) => {
  const queue = queueOf(ctx);
  const commandQueue = `jobtrail.enqueue.test-${randomUUID()}`;
  const w = defineWorker({ name: `produced-${queue}`, queue, action: async () => 'ok' });
  const { engine } = await engineOn(ctx, [w], commandQueue);
  await engine.start();
  const producer = await createProducer({ broker: rabbitUrl, commandQueue, replyTimeoutMs: 10_000 });
  const jobId = `produced-${randomUUID()}`;
  try {
    const request = userTracer().startSpan('checkout');
    const r = await context.with(trace.setSpan(context.active(), request), () => producer.enqueue(w.name, {}, { jobId, awaitReply: true }));
    request.end();
    assert.equal(r, { jobId, created: true });
    await engine.waitForFinal([jobId], { timeoutMs: 20_000 });
    await waitFor(() => attemptsOf(jobId).length === 1, 5_000, 'the attempt span');
    // The dispatch's send span ends at RabbitMQ's confirm, which may come after the job already ran.
    await waitFor(() => spansOfJob(jobId).some((s) => s.name === `send ${queue}`), 5_000, 'the send span');
    const traceId = request.spanContext().traceId;
    const producerSend = exporter.getFinishedSpans().find((s) => s.name === `send ${commandQueue}`)!;
    assert.is(producerSend.kind, SpanKind.PRODUCER);
    assert.is(parentOf(producerSend), request.spanContext().spanId);
    assert.is(producerSend.attributes['jobtrail.job.id'], jobId);
    const command = exporter.getFinishedSpans().find((s) => s.name === `process ${commandQueue}`)!;
    assert.is(parentOf(command), producerSend.spanContext().spanId);
    const send = spansOfJob(jobId).find((s) => s.name === `send ${queue}`)!;
    assert.is(parentOf(send), command.spanContext().spanId);
    const [attempt] = attemptsOf(jobId);
    assert.is(parentOf(attempt!), send.spanContext().spanId);
    for (const s of [producerSend, command, send, attempt!]) assert.is(s.spanContext().traceId, traceId);
  } finally {
    await producer.close();
  }
});

test.run();
