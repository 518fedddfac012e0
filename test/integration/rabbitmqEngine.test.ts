import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type * as amqp from 'amqplib';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { type AppendResult, type EventStore, type RecordedEvent, type StoreUnavailable } from '../../src/eventStore/index.js';
import { type StoreBackend } from '../../src/backends/index.js';
import { makeRabbitBroker } from '../../src/broker/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { createProducer, EnqueueCommandRejectedError } from '../../src/producer/index.js';
import { defineWorker, type Worker } from '../../src/worker/index.js';
import { replay } from '../../src/job/index.js';
import { closeConnectionsNamed, limitDeliveries, openRawChannel, rabbitUrl } from '../support/rabbit.js';
import { testStoreLabel } from '../support/testStore.js';
import { waitFor } from '../support/waitFor.js';
import { queueOf, rabbitEngineSuite, type RabbitEngineCtx } from '../support/rabbitEngineSuite.js';

const test = rabbitEngineSuite(`the engine on RabbitMQ (${testStoreLabel}): the wire contract, delays, connection loss`);

const engineOn = async (
  ctx: RabbitEngineCtx,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  workers: Worker<any>[],
  connectionName = `jobtrail-test-${randomUUID()}`,
  commandQueue?: string,
) => {
  const broker = await makeRabbitBroker({ url: rabbitUrl, connectionName, minReconnectDelayMs: 100, maxReconnectDelayMs: 500 });
  ctx.brokers.push(broker);
  if (commandQueue !== undefined && commandQueue !== 'jobtrail.enqueue') ctx.queues.push(commandQueue, `${commandQueue}.rejected`);
  const engine = await createEngine({
    store: ctx.store,
    broker,
    workers,
    ...(commandQueue !== undefined ? { commandQueue } : { acceptCommands: false }),
    // The store may be the tests' shared EventStoreDB, whose other tests use the in-process broker (issue 22).
    rememberBroker: false,
  });
  ctx.engines.push(engine);
  return engine;
};

const everyHistoryValid = async (engine: Engine, ids: readonly string[]) => {
  for (const id of ids) {
    const events = (await engine.history(id)).map((e) => e.event);
    const r = replay(events);
    assert.ok(E.isRight(r), E.isLeft(r) ? `${id}: ${r.left.message}` : '');
    assert.is(events.filter((e) => e.type === 'JobCompleted').length, 1, `${id} has exactly one JobCompleted`);
  }
};

test('a producer with plain amqplib enqueues per the wire contract; replies arrive; a re-published messageId is one job', async (ctx) => {
  const queue = queueOf(ctx);
  const w = defineWorker({ name: `wire-${queue}`, queue, payload: t.type({ n: t.number }), action: async (p) => p.n * 2 });
  const engine = await engineOn(ctx, [w], undefined, 'jobtrail.enqueue');
  await engine.start();
  const raw = await openRawChannel();
  try {
    const replies = new Map<string, unknown>();
    await raw.channel.consume(
      'amq.rabbitmq.reply-to',
      (m: amqp.ConsumeMessage | null) => {
        if (m) replies.set(String(m.properties.correlationId), JSON.parse(m.content.toString()));
      },
      { noAck: true },
    );
    const sent: { correlationId: string; jobId: string }[] = [];
    for (let n = 0; n < 20; n++) {
      const correlationId = randomUUID();
      const withId = n % 2 === 0;
      const jobId = withId ? `wire-${queue}-${n}` : `msg-${randomUUID()}`;
      const body = { workerName: w.name, payload: { n }, ...(withId ? { jobId } : {}), extraField: 'ignored' };
      raw.channel.sendToQueue('jobtrail.enqueue', Buffer.from(JSON.stringify(body)), {
        persistent: true,
        contentType: 'application/json',
        replyTo: 'amq.rabbitmq.reply-to',
        correlationId,
        ...(withId ? {} : { messageId: jobId }),
      });
      sent.push({ correlationId, jobId });
    }
    // A producer's retried publish of the same message: same messageId, one job.
    const retried = sent[1]!;
    raw.channel.sendToQueue('jobtrail.enqueue', Buffer.from(JSON.stringify({ workerName: w.name, payload: { n: 1 } })), {
      persistent: true,
      contentType: 'application/json',
      messageId: retried.jobId,
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId: 'retried',
    });
    await waitFor(() => replies.size === 21, 15_000, 'a reply to every command');
    for (const s of sent) assert.equal(replies.get(s.correlationId), { ok: true, jobId: s.jobId, created: true });
    assert.equal(replies.get('retried'), { ok: true, jobId: retried.jobId, created: false });
    const views = await engine.waitForFinal(
      sent.map((s) => s.jobId),
      { timeoutMs: 15_000 },
    );
    assert.equal(
      views.map((v) => v.result),
      sent.map((_, n) => n * 2),
    );
    await everyHistoryValid(
      engine,
      sent.map((s) => s.jobId),
    );
  } finally {
    await raw.close();
  }
});

test('malformed commands all end in jobtrail.enqueue.rejected with a reason and the body intact; valid ones between them complete', async (ctx) => {
  const queue = queueOf(ctx);
  const w = defineWorker({ name: `strict-${queue}`, queue, payload: t.type({ to: t.string }), action: async () => 'sent' });
  const commandQueue = `${queue}.enqueue`;
  const engine = await engineOn(ctx, [w], undefined, commandQueue);
  await engine.start();
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const cases: { name: string; body: Buffer; contentType?: string; reason: RegExp }[] = [
    { name: 'binary garbage', body: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]), reason: /not JSON/ },
    { name: 'truncated JSON', body: Buffer.from('{"workerName": "x", "payl'), reason: /not JSON/ },
    { name: 'a JSON array', body: Buffer.from('[1,2,3]'), reason: /an array/ },
    { name: 'null', body: Buffer.from('null'), reason: /null/ },
    { name: 'a string', body: Buffer.from('"enqueue please"'), reason: /string/ },
    { name: 'deep nesting', body: Buffer.from(deep), reason: /not JSON|array/ },
    { name: 'missing workerName', body: Buffer.from(JSON.stringify({ payload: { to: 'a' } })), reason: /workerName/ },
    { name: 'missing payload', body: Buffer.from(JSON.stringify({ workerName: w.name })), reason: /no payload/ },
    { name: 'workerName a number', body: Buffer.from(JSON.stringify({ workerName: 7, payload: {} })), reason: /workerName/ },
    {
      name: 'unknown worker',
      body: Buffer.from(JSON.stringify({ workerName: 'send-emial', payload: {} })),
      reason: /unknown worker "send-emial"/,
    },
    {
      name: 'payload its codec rejects',
      body: Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: 42 } })),
      reason: /payload does not match.*to/,
    },
    {
      name: 'invalid runAt',
      body: Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: 'a' }, runAt: '2026-02-30T25:00:00Z' })),
      reason: /runAt/,
    },
    {
      name: 'invalid jobId',
      body: Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: 'a' }, jobId: 'a/b c' })),
      reason: /jobId/,
    },
    {
      name: 'maxAttempts -1',
      body: Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: 'a' }, maxAttempts: -1 })),
      reason: /maxAttempts/,
    },
    {
      name: 'maxAttempts a string',
      body: Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: 'a' }, maxAttempts: '3' })),
      reason: /maxAttempts/,
    },
    {
      name: 'over 1 MiB',
      body: Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: 'x'.repeat(1024 * 1024 + 10) } })),
      reason: /over the limit/,
    },
    {
      name: 'not JSON content-type',
      body: Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: 'a' } })),
      contentType: 'text/xml',
      reason: /content-type/,
    },
    {
      name: '__proto__ pollution',
      body: Buffer.from('{"workerName":"' + w.name + '","payload":{"__proto__":{"polluted":true}}}'),
      reason: /payload does not match/,
    },
  ];
  const raw = await openRawChannel();
  const rejected = new Map<string, { reason: string; body: Buffer }>();
  try {
    await raw.channel.assertQueue(`${commandQueue}.rejected`, { durable: true });
    await raw.channel.consume(`${commandQueue}.rejected`, (m: amqp.ConsumeMessage | null) => {
      if (!m) return;
      raw.channel.ack(m);
      const id = m.properties.messageId as string | undefined;
      if (id?.startsWith(`bad-${queue}`)) rejected.set(id, { reason: String(m.properties.headers?.['x-jobtrail-error']), body: m.content });
    });
    const good: string[] = [];
    cases.forEach((c, i) => {
      raw.channel.sendToQueue(commandQueue, c.body, {
        persistent: true,
        messageId: `bad-${queue}-${i}`,
        contentType: c.contentType ?? 'application/json',
      });
      const jobId = `good-${queue}-${i}`;
      good.push(jobId);
      raw.channel.sendToQueue(
        commandQueue,
        Buffer.from(JSON.stringify({ workerName: w.name, payload: { to: `${i}@example.com` }, jobId })),
        { persistent: true, contentType: 'application/json' },
      );
    });
    await waitFor(() => rejected.size === cases.length, 20_000, `all ${cases.length} malformed commands in ${commandQueue}.rejected`);
    cases.forEach((c, i) => {
      const r = rejected.get(`bad-${queue}-${i}`)!;
      assert.match(r.reason, c.reason, `${c.name}: ${r.reason}`);
      assert.ok(r.body.equals(c.body), `${c.name}: body intact`);
    });
    assert.is(({} as Record<string, unknown>)['polluted'], undefined);
    const views = await engine.waitForFinal(good, { timeoutMs: 20_000 });
    assert.ok(views.every((v) => v.status === 'completed'));
  } finally {
    await raw.close();
  }
});

test('createProducer: enqueues with a confirm, awaits the reply, and surfaces a rejection', async (ctx) => {
  const queue = queueOf(ctx);
  const w = defineWorker({ name: `produced-${queue}`, queue, payload: t.type({ id: t.number }), action: async (p) => p.id });
  const commandQueue = `${queue}.enqueue`;
  const engine = await engineOn(ctx, [w], undefined, commandQueue);
  await engine.start();
  const producer = await createProducer({ broker: rabbitUrl, replyTimeoutMs: 10_000, commandQueue });
  try {
    const a = await producer.enqueue(w.name, { id: 1 }, { awaitReply: true, jobId: `p-${queue}` });
    assert.equal(a, { jobId: `p-${queue}`, created: true });
    const b = await producer.enqueue(w.name, { id: 2 });
    assert.type(b.jobId, 'string');
    try {
      await producer.enqueue(w.name, { id: 'one' }, { awaitReply: true });
      assert.unreachable('the conductor must reject a payload its codec refuses');
    } catch (error) {
      assert.instance(error, EnqueueCommandRejectedError);
      assert.match((error as Error).message, /id/);
    }
    const views = await engine.waitForFinal([a.jobId, b.jobId], { timeoutMs: 10_000 });
    assert.equal(
      views.map((v) => v.result),
      [1, 2],
    );
  } finally {
    await producer.close();
  }
});

test('enqueueMany on RabbitMQ: 1,000 jobs published and confirmed together, each runs once', async (ctx) => {
  const queue = queueOf(ctx);
  const seen = new Map<number, number>();
  const w = defineWorker({
    name: `many-${queue}`,
    queue,
    concurrency: 50,
    payload: t.type({ n: t.number }),
    action: async ({ n }) => void seen.set(n, (seen.get(n) ?? 0) + 1),
  });
  const engine = await engineOn(ctx, [w]);
  const enqueued = await engine.enqueueMany(Array.from({ length: 1000 }, (_, n) => ({ workerName: w.name, payload: { n } })));
  assert.is(enqueued.length, 1000);
  assert.ok(enqueued.every((e, n) => e.created && (e.job.payload as { n: number }).n === n));
  await engine.start();
  const ids = enqueued.map((e) => e.jobId);
  const final = await engine.waitForFinal(ids, { timeoutMs: 60_000 });
  assert.ok(final.every((v) => v.status === 'completed'));
  assert.is(seen.size, 1000);
  assert.ok(
    [...seen.values()].every((times) => times === 1),
    'no job ran twice',
  );
  await everyHistoryValid(engine, ids);
});

test('a store outage outlasting the delivery-limit of the quorum work queue: deliveries are kept and retried, not handed back, so none is dropped', async (ctx) => {
  const queue = queueOf(ctx);
  // RabbitMQ 4.0 to 4.2 drop a message handed back 20 times; 2 here, so that a few hand-backs show.
  const unlimit = await limitDeliveries(`jobtrail.work.${queue}`, 2);
  try {
    let down = false;
    let refused = 0;
    const unavailable = <A>(): TE.TaskEither<StoreUnavailable, A> => {
      refused++;
      return TE.left({ _tag: 'StoreUnavailable', message: 'the store is down (test)' });
    };
    const store: StoreBackend = Object.assign(Object.create(ctx.store) as StoreBackend, {
      append: (...args: Parameters<EventStore['append']>) => (down ? unavailable<AppendResult>() : ctx.store.append(...args)),
      readStream: (...args: Parameters<EventStore['readStream']>) =>
        down ? unavailable<readonly RecordedEvent[]>() : ctx.store.readStream(...args),
    });
    let ran = 0;
    const w = defineWorker({ name: `outage-${queue}`, queue, concurrency: 5, action: async () => void ran++ });
    const broker = await makeRabbitBroker({ url: rabbitUrl, minReconnectDelayMs: 100, maxReconnectDelayMs: 500 });
    ctx.brokers.push(broker);
    const engine = await createEngine({ store, broker, workers: [w], acceptCommands: false, rememberBroker: false });
    ctx.engines.push(engine);
    const ids = (await engine.enqueueMany(Array.from({ length: 5 }, (_, n) => ({ workerName: w.name, payload: { n } })))).map(
      (e) => e.jobId,
    );
    down = true;
    await engine.start();
    // Long enough for many more than 2 hand-backs at the engine's first pauses (100 ms and up).
    await waitFor(() => refused >= 15, 10_000, "the store to refuse the deliveries' reads and appends");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    down = false;
    const final = await engine.waitForFinal(ids, { timeoutMs: 20_000 });
    assert.ok(final.every((v) => v.status === 'completed'));
    assert.is(ran, 5, 'each action ran once');
    await everyHistoryValid(engine, ids);
  } finally {
    await unlimit();
  }
});

test('a retry scheduled 2 s out runs no earlier than 2 s and within 3 s', async (ctx) => {
  const queue = queueOf(ctx);
  const w = defineWorker({
    name: `delayed-${queue}`,
    queue,
    retryDelay: () => 2000,
    action: async (_p, c) => {
      if (c.attempt === 1) throw new Error('first attempt fails');
      return 'ok';
    },
  });
  const engine = await engineOn(ctx, [w]);
  await engine.start();
  const { jobId } = await engine.enqueue(w.name, {});
  await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  const events = (await engine.history(jobId)).map((e) => e.event);
  const errored = events.find((e) => e.type === 'JobErrored');
  const second = events.filter((e) => e.type === 'JobStarted')[1];
  assert.ok(errored?.type === 'JobErrored' && second?.type === 'JobStarted');
  if (errored?.type !== 'JobErrored' || second?.type !== 'JobStarted') return;
  const waited = Date.parse(second.data.startedAt) - Date.parse(errored.data.erroredAt);
  assert.ok(waited >= 2000, `started ${waited} ms after the failure: too early`);
  assert.ok(waited < 3000, `started ${waited} ms after the failure: too late`);
});

test('the connection dropped under load: work resumes by itself, no job lost or completed twice', async (ctx) => {
  const queue = queueOf(ctx);
  const connectionName = `jobtrail-test-drop-${randomUUID()}`;
  const w = defineWorker({
    name: `busy-${queue}`,
    queue,
    concurrency: 20,
    retryDelay: () => 100,
    action: async () => new Promise((r) => setTimeout(() => r('done'), 20)),
  });
  const engine = await engineOn(ctx, [w], connectionName);
  await engine.start();
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) ids.push((await engine.enqueue(w.name, { i })).jobId);
  await waitFor(async () => (await engine.getJob(ids[30]!))?.status === 'completed', 20_000, 'some jobs done before the drop');
  const closed = await closeConnectionsNamed(connectionName);
  assert.ok(closed >= 1, 'the engine connection was closed from the server side');
  const views = await engine.waitForFinal(ids, { timeoutMs: 60_000 });
  assert.ok(views.every((v) => v.status === 'completed'));
  await everyHistoryValid(engine, ids);
});

test.run();
