// The broker port's optional `inspectQueue` (docs/queues.md), on both adapters: ready messages and consumers of a
// queue, `undefined` for a queue that does not exist (and it is not declared by asking).
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispositions, makeMemoryBroker, makeRabbitBroker, type Broker } from '../../src/broker/index.js';
import { deleteQueues, queueExists, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('Broker.inspectQueue');

const check = async (broker: Broker, queue: string, exists: () => Promise<boolean>) => {
  assert.is(await broker.inspectQueue!(queue), undefined, 'no such queue');
  assert.is(await exists(), false, 'asking declares nothing');
  for (let i = 0; i < 3; i++) await broker.publish(queue, { body: Buffer.from(String(i)) })();
  await waitFor(async () => (await broker.inspectQueue!(queue))?.messages === 3, 5_000, 'three ready messages');
  assert.equal(await broker.inspectQueue!(queue), { messages: 3, consumers: 0 });
  let held: (() => void) | undefined;
  const consumer = await broker.consume(queue, () => new Promise((resolve) => (held = () => resolve(Dispositions.ack))), { prefetch: 1 });
  await waitFor(
    async () => (await broker.inspectQueue!(queue))?.consumers === 1 && held !== undefined,
    5_000,
    'one consumer, one delivery',
  );
  assert.equal(await broker.inspectQueue!(queue), { messages: 2, consumers: 1 }, 'the delivered one is not ready');
  held!();
  const stopping = consumer.stop();
  await stopping;
  await waitFor(async () => (await broker.inspectQueue!(queue))?.consumers === 0, 5_000, 'no consumer after stop');
};

test('memory', async () => {
  const broker = makeMemoryBroker();
  try {
    const queue = `inspect-${randomUUID()}`;
    await check(broker, queue, async () => (await broker.inspectQueue!(queue)) !== undefined);
  } finally {
    await broker.close();
  }
});

test('RabbitMQ', async () => {
  const broker = await makeRabbitBroker({ url: rabbitUrl, delayRouter: false });
  const queue = `jobtrail.work.inspect-${randomUUID()}`;
  try {
    await check(broker, queue, () => queueExists(queue));
  } finally {
    await broker.close();
    await deleteQueues([queue, `${queue}.dead`]);
  }
});

test.run();
