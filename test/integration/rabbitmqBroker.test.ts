import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispositions, makeRabbitBroker, type Broker, type Delivery, type RabbitBrokerOptions } from '../../src/broker/index.js';
import { makeBroker } from '../../src/backends/index.js';
import { delayDueHeader, delayExpiredQueueName, delayQueueName, delayTargetHeader } from '../../src/broker/rabbitmq/delayHops.js';
import { QueueDeclarationError } from '../../src/broker/rabbitmq/queueDeclaration.js';
import {
  closeConnectionsNamed,
  deleteQueues,
  limitDeliveries,
  listQueues,
  openRawChannel,
  queueExists,
  rabbitmqctl,
  rabbitUrl,
  takeMessage,
} from '../support/rabbit.js';
import { startRabbitProxy, type RabbitProxy } from '../support/rabbitProxy.js';
import { observeFor, waitFor } from '../support/waitFor.js';

interface Ctx {
  brokers: Broker[];
  queues: string[];
  proxies: RabbitProxy[];
  releases: Array<() => void>;
  warnings: string[];
}

const test = suite<Ctx>('rabbitmq broker (RabbitMQ only)');

test.before.each((ctx) => {
  ctx.brokers = [];
  ctx.queues = [];
  ctx.proxies = [];
  ctx.releases = [];
  ctx.warnings = [];
});
test.after.each(async (ctx) => {
  for (const release of ctx.releases) release();
  for (const broker of ctx.brokers) await broker.close();
  for (const proxy of ctx.proxies) await proxy.close();
  await deleteQueues(ctx.queues);
});

const open = async (ctx: Ctx, options: Partial<RabbitBrokerOptions> = {}): Promise<Broker> => {
  const broker = await makeRabbitBroker({
    url: rabbitUrl,
    onWarning: (message) => ctx.warnings.push(message),
    minReconnectDelayMs: 50,
    maxReconnectDelayMs: 500,
    ...options,
  });
  ctx.brokers.push(broker);
  return broker;
};
const queue = (ctx: Ctx, prefix = 'test-'): string => {
  const q = `${prefix}${randomUUID()}`;
  ctx.queues.push(q, `${q}.dead`);
  return q;
};
const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const parse = (d: Delivery): unknown => JSON.parse(d.body.toString('utf8'));
const expectRight = async (task: () => Promise<E.Either<unknown, void>>): Promise<void> => {
  const result = await task();
  if (E.isLeft(result)) assert.unreachable(`expected success, got ${JSON.stringify(result.left)}`);
};
/** Collects deliveries of `queue`, acking each. */
const collect = async (broker: Broker, q: string): Promise<{ got: Array<[Delivery, number]>; stop(): Promise<void> }> => {
  const got: Array<[Delivery, number]> = [];
  const consumer = await broker.consume(q, async (d) => {
    got.push([d, Date.now()]);
    return Dispositions.ack;
  });
  return { got, stop: () => consumer.stop() };
};

test('work queues are quorum queues; other queues are durable classic ones', async (ctx) => {
  const broker = await open(ctx);
  const work = queue(ctx, 'jobtrail.work.test-');
  const other = queue(ctx);
  await expectRight(broker.publish(work, { body: body(1) }));
  await expectRight(broker.publish(other, { body: body(1) }));
  const rows = await listQueues([work, other]);
  assert.equal(rows.find((r) => r.name === work)?.type, 'quorum');
  assert.equal(rows.find((r) => r.name === other)?.type, 'classic');
  const raw = await openRawChannel();
  try {
    // Redeclaring passively must find both (they exist, durable).
    assert.is((await raw.channel.checkQueue(work)).messageCount, 1);
    assert.is((await raw.channel.checkQueue(other)).messageCount, 1);
  } finally {
    await raw.close();
  }
});

test('a queue that exists with other arguments is a clear error naming it, and the broker goes on working', async (ctx) => {
  const q = queue(ctx, 'jobtrail.work.test-');
  const raw = await openRawChannel();
  await raw.channel.assertQueue(q, { durable: true }); // classic, where jobtrail wants quorum
  await raw.close();
  const broker = await open(ctx);
  const result = await broker.publish(q, { body: body(1) })();
  assert.ok(E.isLeft(result));
  if (E.isLeft(result))
    assert.match(result.left.message, new RegExp(`refused to declare queue "${q.replace(/\./g, '\\.')}".*x-queue-type`));
  const fine = queue(ctx);
  await expectRight(broker.publish(fine, { body: body(2) }));
});

test('the URL password never shows in errors', async () => {
  let error: unknown;
  await makeRabbitBroker({ url: 'amqp://guest:hunter2-secret@127.0.0.1:1/', onWarning: () => undefined }).catch(
    (e: unknown) => (error = e),
  );
  assert.instance(error, Error);
  assert.not.match(String(error), /hunter2/);
  assert.match(String(error), /amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/);

  error = undefined;
  await makeRabbitBroker({ url: rabbitUrl.replace(/:[^:@/]*@/, ':wrong-hunter2@'), onWarning: () => undefined }).catch(
    (e: unknown) => (error = e),
  );
  assert.instance(error, Error, 'a wrong password is refused');
  assert.not.match(String(error), /hunter2/);

  error = undefined;
  await makeBroker('redis://user:hunter2@host:6379').catch((e: unknown) => (error = e));
  assert.match(String(error), /unknown broker URL .*"memory", "amqp:\/\/.*"amqps:\/\//);
  assert.not.match(String(error), /hunter2/);
});

test('makeBroker picks the adapter from the URL', async () => {
  const memory = await makeBroker('memory');
  assert.is(memory.kind, 'memory');
  await memory.close();
  const rabbit = await makeBroker(rabbitUrl, { onWarning: () => undefined });
  assert.is(rabbit.kind, 'rabbitmq');
  await rabbit.close();
});

test('after RabbitMQ closes the connection: listeners hear it, consumers resume, unacked deliveries come back redelivered, publishing works', async (ctx) => {
  const connectionName = `jobtrail test ${randomUUID()}`;
  const broker = await open(ctx, { connectionName });
  const changes: boolean[] = [];
  const unsubscribe = broker.onConnectionChange?.((connected) => changes.push(connected));
  const q = queue(ctx, 'jobtrail.work.test-');
  const got: Delivery[] = [];
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  ctx.releases.push(release);
  const consumer = await broker.consume(
    q,
    async (d) => {
      got.push(d);
      // The first delivery is held across the connection loss, then acked: that ack must go nowhere.
      if (got.length === 1) await held;
      return Dispositions.ack;
    },
    { prefetch: 5 },
  );
  await expectRight(broker.publish(q, { body: body('m1'), messageId: 'm1' }));
  await waitFor(() => got.length === 1, 5_000, 'the first delivery');

  assert.is(await closeConnectionsNamed(connectionName), 1);
  await waitFor(() => changes.length >= 2, 15_000, 'the loss and the recovery');
  assert.equal(changes.slice(0, 2), [false, true]);
  assert.is(got[0]?.lost?.aborted, true, 'the held delivery is flagged lost');

  await waitFor(() => got.length >= 2, 10_000, 'the redelivery on the new channel');
  release();
  assert.equal([got[1]?.messageId, got[1]?.redelivered], ['m1', true]);

  await expectRight(broker.publish(q, { body: body('m2'), messageId: 'm2' }));
  await waitFor(() => got.length >= 3, 5_000, 'a message published after the reconnection');
  assert.equal([got[2]?.messageId, got[2]?.redelivered], ['m2', false]);
  await observeFor(200);
  await consumer.stop();
  assert.is(got.length, 3, 'nothing delivered again: the redelivery was acked on the channel that received it');
  assert.ok(!ctx.warnings.some((w) => /could not settle/.test(w)), ctx.warnings.join('\n'));
  unsubscribe?.();
});

test('while RabbitMQ is unreachable, a publish waits for it, and fails clearly after the timeout', async (ctx) => {
  const proxy = await startRabbitProxy();
  ctx.proxies.push(proxy);
  const broker = await open(ctx, { url: proxy.url(), timeoutMs: 2_500, delayRouter: false });
  const q = queue(ctx);
  await expectRight(broker.publish(q, { body: body('before') }));
  const changes: boolean[] = [];
  broker.onConnectionChange?.((c) => changes.push(c));

  proxy.refuse(true);
  proxy.drop();
  await waitFor(() => changes.includes(false), 5_000, 'the loss');
  const started = Date.now();
  const failed = await broker.publish(q, { body: body('lost?') })();
  const waited = Date.now() - started;
  assert.ok(E.isLeft(failed), 'the publish fails');
  if (E.isLeft(failed)) {
    assert.is(failed.left._tag, 'BrokerUnavailable');
    // Which of the two clear failures depends on whether the loss was seen before the publish was sent (a race under load).
    assert.match(
      failed.left.message,
      /no connection to amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+.* within 2500 ms|did not confirm within 2500 ms/,
      failed.left.message,
    );
    assert.not.match(failed.left.message, /guest:guest/);
  }
  assert.ok(waited >= 2_400 && waited < 5_000, `waited ${waited} ms`);

  // A publish made during the outage succeeds once RabbitMQ is back within the timeout.
  const pending = broker.publish(q, { body: body('during') })();
  await observeFor(300);
  proxy.refuse(false);
  const result = await pending;
  assert.ok(E.isRight(result), `the publish made during the outage went through: ${JSON.stringify(result)}`);
  await waitFor(() => changes.includes(true), 5_000, 'the recovery');

  const { got, stop } = await collect(broker, q);
  await waitFor(() => got.length === 2, 5_000, 'both messages');
  await stop();
  assert.equal(
    got.map(([d]) => parse(d)),
    ['before', 'during'],
  );
});

test('a consumer whose channel RabbitMQ ends (its queue deleted) flags its deliveries lost, declares the queue again and resubscribes', async (ctx) => {
  const broker = await open(ctx);
  const q = queue(ctx);
  const got: Delivery[] = [];
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  ctx.releases.push(release);
  const consumer = await broker.consume(q, async (d) => {
    got.push(d);
    if (got.length === 1) await held;
    return Dispositions.ack;
  });
  await expectRight(broker.publish(q, { body: body('first') }));
  await waitFor(() => got.length === 1, 5_000, 'the first delivery');
  await deleteQueues([q]);
  await waitFor(() => got[0]?.lost?.aborted === true, 5_000, 'the held delivery to be flagged lost');
  release();
  await waitFor(() => queueExists(q), 10_000, 'the consumer to declare the queue again', 100);
  // The publisher's cached declaration is stale too; it must find that out and still deliver.
  await expectRight(broker.publish(q, { body: body('back') }));
  await waitFor(() => got.length >= 2, 5_000, 'the delivery after resubscribing');
  await consumer.stop();
  assert.equal(parse(got[1] as Delivery), 'back');
  assert.ok(
    ctx.warnings.some((w) => /cancelled/.test(w)),
    ctx.warnings.join('\n'),
  );
});

test('delays of 2 s and 5 s arrive on time (5 s hops through two delay levels)', async (ctx) => {
  const broker = await open(ctx);
  const q = queue(ctx, 'jobtrail.work.test-');
  const { got, stop } = await collect(broker, q);
  const sentAt = Date.now();
  await expectRight(broker.publish(q, { body: body(5), delayMs: 5_000, messageId: 'five' }));
  await expectRight(broker.publish(q, { body: body(2), delayMs: 2_000, messageId: 'two' }));
  await waitFor(() => got.length === 2, 8_000, 'both delayed messages');
  await stop();
  const at = Object.fromEntries(got.map(([d, t]) => [d.messageId, t - sentAt]));
  for (const [id, due] of [
    ['two', 2_000],
    ['five', 5_000],
  ] as const) {
    const lateBy = (at[id] as number) - due;
    assert.ok(lateBy >= 0 && lateBy <= 1_000, `${id}: ${lateBy} ms late`);
  }
});

test('many messages waiting out their last second in the delay router at once: all on time, and no listener-leak warning', async (ctx) => {
  const broker = await open(ctx);
  const q = queue(ctx, 'jobtrail.work.test-');
  const { got, stop } = await collect(broker, q);
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    const sentAt = Date.now();
    // Under a second: straight to jobtrail.delay.expired, where the router holds each one until it is due.
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => broker.publish(q, { body: body(i), delayMs: 800, messageId: `w${i}` })()),
    );
    for (const r of results) if (E.isLeft(r)) assert.unreachable(`publish: ${JSON.stringify(r.left)}`);
    await waitFor(() => got.length === 40, 8_000, 'the 40 delayed messages');
    assert.ok(
      got.every(([, at]) => at - sentAt >= 800),
      `none early: ${got.map(([, at]) => at - sentAt).join(',')}`,
    );
    // Node reports the warning on the next tick after the listener that crossed the limit.
    await observeFor(50);
    assert.equal(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      [],
    );
  } finally {
    process.off('warning', onWarning);
    await stop();
  }
});

test('a 70 s delay starts in the 64 s queue, and the router moves a message with 70 s left there too', async (ctx) => {
  const broker = await open(ctx);
  const q = queue(ctx);
  const raw = await openRawChannel();
  const takeFrom = (level: number, messageId: string): Promise<Record<string, unknown> | undefined> =>
    takeMessage(raw.channel, delayQueueName(level), (m) => m.properties.messageId === messageId);
  const seventy = `seventy-${randomUUID()}`;
  const hop = `router-hop-${randomUUID()}`;
  try {
    const sentAt = Date.now();
    await expectRight(broker.publish(q, { body: body('seventy'), delayMs: 70_000, messageId: seventy }));
    const headers = await takeFrom(6, seventy);
    assert.ok(headers !== undefined, 'the message is in jobtrail.delay.6');
    assert.is(headers?.[delayTargetHeader], q);
    const due = headers?.[delayDueHeader] as number;
    assert.ok(due >= sentAt + 70_000 && due <= Date.now() + 70_000, `due ${due - sentAt} ms after sending`);

    // The router's side: a message arriving from an expired hop with 70 s left goes to level 6 again.
    raw.channel.sendToQueue(delayExpiredQueueName, body('hop'), {
      persistent: true,
      messageId: hop,
      headers: { [delayTargetHeader]: q, [delayDueHeader]: Date.now() + 70_000 },
    });
    let moved: Record<string, unknown> | undefined;
    await waitFor(async () => (moved = await takeFrom(6, hop)) !== undefined, 5_000, 'the router to move the message to jobtrail.delay.6');
    assert.is(moved?.[delayTargetHeader], q);
  } finally {
    // Whatever a failed assertion left behind would otherwise recreate the deleted queue in 70 s.
    await takeFrom(6, seventy);
    await takeFrom(6, hop);
    await raw.close();
  }
});

test('a message that is not a delayed one is dead-lettered by the router with the reason', async (ctx) => {
  const broker = await open(ctx);
  const raw = await openRawChannel();
  const messageId = `stray-${randomUUID()}`;
  try {
    raw.channel.sendToQueue(delayExpiredQueueName, body('stray'), { persistent: true, messageId });
    let found: Record<string, unknown> | undefined;
    await waitFor(
      async () =>
        (found = await takeMessage(raw.channel, `${delayExpiredQueueName}.dead`, (m) => m.properties.messageId === messageId)) !==
        undefined,
      5_000,
      'the stray message in jobtrail.delay.expired.dead',
    );
    assert.match(String(found?.['x-jobtrail-error']), /not a jobtrail delayed message/);
  } finally {
    await raw.close();
  }
  assert.is(broker.kind, 'rabbitmq', 'its delay router did the work');
});

test('a jobtrail.delay.expired of another type is a QueueDeclarationError at start that says how to replace it, and fails delayed publishes', async (ctx) => {
  // In a vhost of its own: the jobtrail.delay.expired of the default vhost serves every other test.
  const vhost = `jobtrail-test-${randomUUID()}`;
  const url = new URL(rabbitUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  await rabbitmqctl('add_vhost', vhost);
  try {
    await rabbitmqctl('set_permissions', '-p', vhost, decodeURIComponent(url.username), '.*', '.*', '.*');
    const raw = await openRawChannel(url.href);
    await raw.channel.assertQueue(delayExpiredQueueName, { durable: true }); // classic, where jobtrail wants quorum
    await raw.close();

    let error: unknown;
    await makeRabbitBroker({ url: url.href, onWarning: (message) => ctx.warnings.push(message) }).catch((e: unknown) => (error = e));
    assert.instance(error, QueueDeclarationError, String(error));
    const message = (error as Error).message;
    assert.match(message, `refused to declare queue "${delayExpiredQueueName}"`);
    assert.match(message, /x-queue-type/, "what differs, in RabbitMQ's words");
    assert.match(message, 'a durable quorum queue', 'what jobtrail needs');
    assert.match(message, `rabbitmqctl delete_queue ${delayExpiredQueueName}`, 'what to do');

    // Without the router, a delay under a second goes straight to jobtrail.delay.expired: that publish fails, at once.
    const broker = await open(ctx, { url: url.href, delayRouter: false });
    const startedAt = Date.now();
    const result = await broker.publish(`test-${randomUUID()}`, { body: body(1), delayMs: 500 })();
    assert.ok(E.isLeft(result));
    if (E.isLeft(result)) assert.match(result.left.message, `rabbitmqctl delete_queue ${delayExpiredQueueName}`);
    assert.ok(Date.now() - startedAt < 2_000, `failed after ${Date.now() - startedAt} ms`);
    await broker.close();
  } finally {
    await rabbitmqctl('delete_vhost', vhost);
  }
});

test("a dead-letter copy RabbitMQ does not confirm is tried again with the original kept, not handed back past a quorum queue's delivery-limit", async (ctx) => {
  const q = queue(ctx, 'jobtrail.work.test-');
  // RabbitMQ 4.0 to 4.2 drop a message that comes back to a quorum queue 20 times; 1 here.
  const unlimit = await limitDeliveries(q, 1);
  const raw = await openRawChannel();
  try {
    // A dead-letter queue that refuses every message, until it is deleted.
    await raw.channel.assertQueue(`${q}.dead`, { durable: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    const broker = await open(ctx);
    let handled = 0;
    const consumer = await broker.consume(q, async () => {
      handled++;
      return Dispositions.deadLetter('poison (test)');
    });
    await expectRight(broker.publish(q, { body: body('poison'), messageId: 'poison' }));
    await waitFor(
      () => ctx.warnings.filter((w) => /could not dead-letter/.test(w)).length >= 3,
      15_000,
      'three refused dead-letter copies',
    );
    await raw.channel.deleteQueue(`${q}.dead`);
    let found: Record<string, unknown> | undefined;
    await waitFor(
      async () =>
        (await queueExists(`${q}.dead`)) &&
        (found = await takeMessage(raw.channel, `${q}.dead`, (m) => m.properties.messageId === 'poison')) !== undefined,
      15_000,
      'the copy in the dead-letter queue',
      200,
    );
    await consumer.stop();
    assert.match(String(found?.['x-jobtrail-error']), /poison \(test\)/);
    assert.is(handled, 1, 'decided once, kept while the copy was tried again');
    assert.is((await raw.channel.checkQueue(q)).messageCount, 0, 'the original was acked once its copy was confirmed');
  } finally {
    await raw.close();
    await unlimit();
  }
});

test('a delayed message survives the broker being closed: a new broker instance delivers it', async (ctx) => {
  const q = queue(ctx, 'jobtrail.work.test-');
  const first = await makeRabbitBroker({ url: rabbitUrl, onWarning: (m) => ctx.warnings.push(m) });
  const sentAt = Date.now();
  const kept = `kept-${randomUUID()}`;
  await expectRight(first.publish(q, { body: body('kept'), delayMs: 2_500, messageId: kept }));
  await first.close();
  // Let its first hop expire while no router runs anywhere: it must wait in jobtrail.delay.expired.
  await observeFor(Math.max(0, sentAt + 2_200 - Date.now()));

  const second = await open(ctx);
  const { got, stop } = await collect(second, q);
  await waitFor(() => got.length === 1, 8_000, 'the delayed message, delivered by the new instance');
  await stop();
  const [d, at] = got[0] as [Delivery, number];
  assert.is(d.messageId, kept);
  assert.ok(at - sentAt >= 2_500, `delivered ${2_500 - (at - sentAt)} ms early`);
});

test('acks sent together never take along a delivery whose handler has not decided: only that one comes back', async (ctx) => {
  const broker = await open(ctx, { delayRouter: false });
  const q = queue(ctx);
  const count = 20;
  const got: Delivery[] = [];
  const releases = new Map<string, () => void>();
  const hold = (id: string): Promise<void> =>
    new Promise<void>((resolve) => {
      releases.set(id, resolve);
      ctx.releases.push(resolve);
    });
  let requeued = false;
  // Published before consuming, so that they arrive together and their handlers decide in the same turns.
  for (let i = 0; i < count; i += 1) await expectRight(broker.publish(q, { body: body(i), messageId: `m${i}` }));
  const consumer = await broker.consume(
    q,
    async (d) => {
      got.push(d);
      // m0 and m1 (the lowest delivery tags) wait for the test, m5 waits for ever, m3 is requeued once.
      if (d.messageId === 'm0' || d.messageId === 'm1' || d.messageId === 'm5') await hold(d.messageId);
      if (d.messageId === 'm3' && !requeued) {
        requeued = true;
        return Dispositions.requeue;
      }
      return Dispositions.ack;
    },
    { prefetch: count },
  );
  await waitFor(() => got.length === count + 1, 5_000, 'every delivery, and m3 once more');
  await observeFor(100);
  // Released in the same turn: their acks go together while m5, a higher tag, is still undecided.
  releases.get('m0')?.();
  releases.get('m1')?.();
  await observeFor(200);
  const m5 = got.find((d) => d.messageId === 'm5');
  await consumer.stop({ graceMs: 0 });
  assert.is(m5?.lost?.aborted, true, 'the given-up delivery is flagged lost');

  const raw = await openRawChannel();
  try {
    await waitFor(async () => (await raw.channel.checkQueue(q)).messageCount >= 1, 5_000, 'the given-up delivery to be back in the queue');
    await observeFor(200);
    const left: Array<[unknown, boolean]> = [];
    for (;;) {
      const m = await raw.channel.get(q, { noAck: true });
      if (m === false) break;
      left.push([m.properties.messageId, m.fields.redelivered]);
    }
    assert.equal(left, [['m5', true]], 'only the delivery whose handler never decided is back');
  } finally {
    await raw.close();
  }
});

test('a publish RabbitMQ does not confirm in time fails at its own deadline; publishing goes on once confirms flow again', async (ctx) => {
  const proxy = await startRabbitProxy();
  ctx.proxies.push(proxy);
  const broker = await open(ctx, { url: proxy.url(), timeoutMs: 1_000, delayRouter: false });
  const q = queue(ctx);
  await expectRight(broker.publish(q, { body: body('before'), messageId: 'before' }));

  proxy.stall(true);
  const outcomes = await Promise.all(
    [0, 300, 600].map(async (lag) => {
      await observeFor(lag);
      const started = Date.now();
      const result = await broker.publish(q, { body: body(lag), messageId: `stalled-${lag}` })();
      return { lag, result, waited: Date.now() - started };
    }),
  );
  proxy.stall(false);
  for (const { lag, result, waited } of outcomes) {
    assert.ok(E.isLeft(result) && /did not confirm within 1000 ms/.test(result.left.message), `${lag}: ${JSON.stringify(result)}`);
    assert.ok(waited >= 990 && waited < 2_000, `the publish started at +${lag} ms failed after ${waited} ms`);
  }

  await expectRight(broker.publish(q, { body: body('after'), messageId: 'after' }));
  // Unconfirmed is not lost: RabbitMQ did take these, and their late confirms disturb nothing.
  const { got, stop } = await collect(broker, q);
  await waitFor(() => got.length === 5, 5_000, 'all five messages');
  await observeFor(100);
  await stop();
  assert.equal(
    got.map(([d]) => d.messageId),
    ['before', 'stalled-0', 'stalled-300', 'stalled-600', 'after'],
  );
  assert.ok(!ctx.warnings.some((w) => /publishing: RabbitMQ closed the channel/.test(w)), ctx.warnings.join('\n'));
});

test.run();
