import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispositions, type Delivery } from '../../../src/broker/broker.js';
import { makeMemoryBroker } from '../../../src/broker/index.js';
import { waitFor } from '../../support/waitFor.js';

// The in-process broker delivers higher `priority` first among the ready messages of a queue, FIFO within a priority.
const test = suite('memory broker: priority');

const body = (label: string) => Buffer.from(JSON.stringify({ label }));
const labelOf = (d: Delivery) => (JSON.parse(d.body.toString()) as { label: string }).label;

test('a high-priority message published behind a backlog of low ones is delivered next; equal priorities stay FIFO', async () => {
  const broker = makeMemoryBroker();
  try {
    const queue = 'jobtrail.work.priority-backlog';
    for (let i = 0; i < 50; i++) assert.is((await broker.publish(queue, { body: body(`low-${i}`) })())._tag, 'Right');
    assert.is((await broker.publish(queue, { body: body('high'), priority: 5 })())._tag, 'Right');
    assert.is((await broker.publish(queue, { body: body('below'), priority: -1 })())._tag, 'Right');
    assert.is((await broker.publish(queue, { body: body('high-2'), priority: 5 })())._tag, 'Right');
    assert.is((await broker.publish(queue, { body: body('higher'), priority: 9 })())._tag, 'Right');
    const seen: string[] = [];
    const consumer = await broker.consume(queue, async (d) => {
      seen.push(labelOf(d));
      return Dispositions.ack;
    });
    await waitFor(() => seen.length === 54, 5_000, 'every message');
    await consumer.stop();
    assert.equal(seen, ['higher', 'high', 'high-2', ...Array.from({ length: 50 }, (_, i) => `low-${i}`), 'below']);
  } finally {
    await broker.close();
  }
});

test('while a consumer works through a backlog, a high one published later is the next delivery', async () => {
  const broker = makeMemoryBroker();
  try {
    const queue = 'jobtrail.work.priority-busy';
    for (let i = 0; i < 20; i++) await broker.publish(queue, { body: body(`low-${i}`) })();
    const seen: string[] = [];
    let published = false;
    const consumer = await broker.consume(queue, async (d) => {
      seen.push(labelOf(d));
      if (seen.length === 3 && !published) {
        published = true;
        await broker.publish(queue, { body: body('high'), priority: 1 })();
      }
      return Dispositions.ack;
    });
    await waitFor(() => seen.length === 21, 5_000, 'every message');
    await consumer.stop();
    assert.equal(seen.slice(0, 5), ['low-0', 'low-1', 'low-2', 'high', 'low-3']);
  } finally {
    await broker.close();
  }
});

test('a requeued message goes back to its place within its priority, and stays before lower ones', async () => {
  const broker = makeMemoryBroker();
  try {
    const queue = 'jobtrail.work.priority-requeue';
    await broker.publish(queue, { body: body('high-a'), priority: 2 })();
    await broker.publish(queue, { body: body('high-b'), priority: 2 })();
    await broker.publish(queue, { body: body('low'), priority: 0 })();
    const seen: string[] = [];
    let requeued = false;
    const consumer = await broker.consume(queue, async (d) => {
      seen.push(`${labelOf(d)}${d.redelivered ? '*' : ''}`);
      if (labelOf(d) === 'high-a' && !requeued) {
        requeued = true;
        return Dispositions.requeue;
      }
      return Dispositions.ack;
    });
    await waitFor(() => seen.length === 4, 5_000, 'every message');
    await consumer.stop();
    assert.equal(seen, ['high-a', 'high-a*', 'high-b', 'low']);
  } finally {
    await broker.close();
  }
});

test('a delayed high-priority message enters by its priority when it is due', async () => {
  const broker = makeMemoryBroker();
  try {
    const queue = 'jobtrail.work.priority-delayed';
    await broker.publish(queue, { body: body('delayed-high'), priority: 3, delayMs: 30 })();
    for (let i = 0; i < 5; i++) await broker.publish(queue, { body: body(`low-${i}`) })();
    await new Promise((r) => setTimeout(r, 80));
    const seen: string[] = [];
    const consumer = await broker.consume(queue, async (d) => {
      seen.push(labelOf(d));
      return Dispositions.ack;
    });
    await waitFor(() => seen.length === 6, 5_000, 'every message');
    await consumer.stop();
    assert.equal(seen, ['delayed-high', 'low-0', 'low-1', 'low-2', 'low-3', 'low-4']);
  } finally {
    await broker.close();
  }
});

test.run();
