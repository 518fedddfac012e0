import type { ConsumeMessage, Options } from 'amqplib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Consumer, Delivery, Disposition } from '../../../src/broker/broker.js';
import { delayDueHeader, delayQueueName, delayTargetHeader } from '../../../src/broker/rabbitmq/delayHops.js';
import type { RawHandler } from '../../../src/broker/rabbitmq/consumer.js';
import { runDelayRouter } from '../../../src/broker/rabbitmq/delayRouter.js';
import { QueueDeclarationError } from '../../../src/broker/rabbitmq/queueDeclaration.js';

// The delay router's decisions, with a fake broker: what it does when RabbitMQ does not take a hop.
const test = suite('delay router (no server)');

const delivery = (lost?: AbortSignal): Delivery => ({
  queue: 'jobtrail.delay.expired',
  body: Buffer.from('{}'),
  messageId: 'm1',
  redelivered: false,
  headers: {},
  correlationId: undefined,
  replyTo: undefined,
  contentType: undefined,
  ...(lost !== undefined ? { lost } : {}),
});
const expired = (target: string, due: number): ConsumeMessage =>
  ({
    content: Buffer.from('{}'),
    fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'jobtrail.delay.expired', consumerTag: 'c' },
    properties: { headers: { [delayTargetHeader]: target, [delayDueHeader]: due }, messageId: 'm1' },
  }) as unknown as ConsumeMessage;

/** A router on a fake broker whose forward fails as `fail` says; `handle` runs one delivery through it. */
const router = async (fail: (queue: string, tries: number) => Error | undefined, now: () => number = Date.now) => {
  let handler: RawHandler | undefined;
  const forwards: string[] = [];
  const warnings: string[] = [];
  const running = await runDelayRouter({
    consume: async (_queue, h) => {
      handler = h;
      return { stop: async () => undefined } as unknown as Consumer;
    },
    forward: async (queue: string, _content: Buffer, _options: Options.Publish) => {
      forwards.push(queue);
      const error = fail(queue, forwards.length);
      if (error !== undefined) throw error;
    },
    now,
    onWarning: (message) => warnings.push(message),
    prefetch: 10,
    retryPauseMs: 5,
  });
  const handle = (d: Delivery, raw: ConsumeMessage): Promise<Disposition> => (handler as RawHandler)(d, raw);
  return { handle, forwards, warnings, stop: () => running.stop() };
};

test('a hop RabbitMQ does not take is tried again, the message kept, not handed back (a quorum queue counts each hand-back)', async () => {
  const r = await router((_queue, tries) => (tries <= 3 ? new Error('not confirmed in time') : undefined));
  const disposition = await r.handle(delivery(), expired('jobtrail.work.q', Date.now() - 1));
  assert.equal(disposition, { _tag: 'Ack' });
  assert.equal(r.forwards, ['jobtrail.work.q', 'jobtrail.work.q', 'jobtrail.work.q', 'jobtrail.work.q']);
  assert.is(r.warnings.length, 3);
  assert.match(r.warnings[0] as string, /could not move a message on to "jobtrail\.work\.q"; trying again/);
  await r.stop();
});

test('each try plans the hop anew from the due time, so a message kept for a while never waits past it', async () => {
  let clock = 1_000_000;
  const due = clock + 70_000;
  // The first try goes to the 64 s queue; 10 s later only 60 s are left: the 32 s queue.
  const r = await router(
    (_queue, tries) => {
      if (tries === 1) {
        clock += 10_000;
        return new Error('not confirmed in time');
      }
      return undefined;
    },
    () => clock,
  );
  assert.equal(await r.handle(delivery(), expired('jobtrail.work.q', due)), { _tag: 'Ack' });
  assert.equal(r.forwards, [delayQueueName(6), delayQueueName(5)]);
  await r.stop();
});

test('a target that cannot be declared is dead-lettered at once, not retried', async () => {
  const r = await router(() => new QueueDeclarationError('RabbitMQ refused to declare queue "x"'));
  const disposition = await r.handle(delivery(), expired('x', Date.now() - 1));
  assert.is(disposition._tag, 'DeadLetter');
  assert.equal(r.forwards, ['x']);
  await r.stop();
});

test('a message kept for another try goes back when its channel closes, or when the router stops', async () => {
  const lost = new AbortController();
  const r = await router((_queue, tries) => {
    if (tries === 2) lost.abort();
    return new Error('connection closed');
  });
  assert.equal(await r.handle(delivery(lost.signal), expired('jobtrail.work.q', Date.now() - 1)), { _tag: 'Requeue' });
  assert.is(r.forwards.length, 2);

  const s = await router(() => new Error('connection closed'));
  const handled = s.handle(delivery(), expired('jobtrail.work.q', Date.now() - 1));
  await new Promise((resolve) => setTimeout(resolve, 20));
  await s.stop();
  assert.equal(await handled, { _tag: 'Requeue' });
  assert.ok(s.forwards.length >= 1);
});

test.run();
