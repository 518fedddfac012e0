import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispositions, makeRabbitBroker, type Broker } from '../../src/broker/index.js';
import { delayExpiredQueueName, delayQueueName, planDelayHop } from '../../src/broker/rabbitmq/delayHops.js';
import { openRawChannel } from '../support/rabbit.js';
import { crashNode, startPrivateNode, stopNode } from '../support/rabbitNode.js';
import { waitFor } from '../support/waitFor.js';

// The delay queues dead-letter at least once: a RabbitMQ node killed with
// SIGKILL while delayed messages expire loses none of them (it may deliver a
// few twice, which the engine tolerates). The node is a private one that the
// test starts for itself (test/support/rabbitNode.ts: its own name, ports and
// temporary folder, deleted at the end), never the machine's RabbitMQ; the
// test fails, saying why, where that node cannot be started.
const test = suite('rabbitmq: the node killed while delayed messages expire (RabbitMQ only)');

// More than a classic queue index segment (16,384 entries). With classic delay queues (earlier
// versions), a kill in the middle of 50,000 expiries lost 16,384 and 33,615 of them in two runs of a
// plain amqplib script, and this test failed both times it ran, once because RabbitMQ 3.10 could not
// boot again until jobtrail.delay.expired's index files were removed; at 3,000 or 20,000 it mostly passed.
const count = 50_000;
const delayMs = 4_500;
/** The one delay queue the messages wait in: level 2, 4 s (the last half second is waited out by the router). */
const hopMs = 4_000;
/** How many messages each queue of the RabbitMQ at `url` holds, ready or not (-1: no such queue). */
const queueDepths = async (url: string, queues: readonly string[]): Promise<Record<string, number>> => {
  const raw = await openRawChannel(url);
  try {
    const depths: Record<string, number> = {};
    for (const queue of queues)
      depths[queue] = await raw.channel.checkQueue(queue).then(
        (ok) => ok.messageCount,
        () => -1,
      );
    return depths;
  } finally {
    await raw.close();
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('every delayed message arrives, after the node is killed with SIGKILL in the middle of their expiry and started again', async () => {
  // The 4 s delay queue, then jobtrail.delay.expired: one dead-lettering each, all of them within a few seconds.
  assert.equal(planDelayHop(delayMs - 50), { _tag: 'Hop', level: 2, ttlMs: hopMs });
  // Rejects, saying why, where no private node can be started: a failure, not a skip.
  const node = await startPrivateNode();
  const q = `jobtrail.work.test-crash-${randomUUID()}`;
  const warnings: string[] = [];
  const brokers: Broker[] = [];
  const open = async (delayRouter: boolean): Promise<Broker> => {
    const broker = await makeRabbitBroker({
      url: node.url,
      delayRouter,
      minReconnectDelayMs: 100,
      maxReconnectDelayMs: 1_000,
      timeoutMs: 120_000,
      onWarning: (message) => warnings.push(message),
    });
    brokers.push(broker);
    return broker;
  };
  const seen = new Map<string, number>();
  try {
    // No delay router runs while they expire: what expires piles up in jobtrail.delay.expired, as when
    // every process is down or behind, and the node dies with all of that in flight.
    const producer = await open(false);
    const consumer = await producer.consume(
      q,
      async (d) => {
        seen.set(d.messageId ?? '', (seen.get(d.messageId ?? '') ?? 0) + 1);
        return Dispositions.ack;
      },
      { prefetch: 100 },
    ); // at the default of 1, draining 50,000 took most of the time the test allows
    const firstSent = Date.now();
    for (let from = 0; from < count; from += 500) {
      const batch = Array.from({ length: Math.min(500, count - from) }, (_, i) =>
        producer.publish(q, { body: Buffer.from('{}'), delayMs, messageId: `m${from + i}` })(),
      );
      for (const result of await Promise.all(batch)) if (E.isLeft(result)) assert.unreachable(`publish: ${result.left.message}`);
    }
    const lastSent = Date.now();
    // They expire from firstSent + 4 s to lastSent + 4 s: kill the node in the middle of that.
    await sleep(Math.max(0, (firstSent + lastSent) / 2 + hopMs - Date.now()));
    await crashNode(node);
    await open(true);
    await waitFor(() => seen.size === count, 90_000, `all ${count} delayed messages`, 100).catch(async (error: Error) => {
      // Lost, or only not delivered: say where the rest are.
      const depths = await queueDepths(node.url, [q, delayQueueName(2), delayExpiredQueueName]);
      throw new Error(`${error.message}: ${seen.size} arrived; messages now in ${JSON.stringify(depths)}`);
    });
    await consumer.stop();
    const missing = Array.from({ length: count }, (_, i) => `m${i}`).filter((id) => !seen.has(id));
    assert.equal(missing, []);
    assert.ok(
      warnings.some((w) => /connection|channel/i.test(w)),
      `the adapter saw the connection go and recovered; warnings: ${warnings.slice(0, 5).join(' | ')}`,
    );
  } finally {
    try {
      for (const broker of brokers) await broker.close();
    } finally {
      // The node goes, with its queues and its folder, whatever failed.
      await stopNode(node);
    }
  }
});

test.run();
