import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import * as t from 'io-ts';
import * as assert from 'uvu/assert';
import { makeRabbitBroker } from '../../src/broker/index.js';
import { createEngine } from '../../src/engine.js';
import { defineWorker } from '../../src/worker/index.js';
import { openRawChannel, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';
import { testStoreLabel } from '../support/testStore.js';
import { queueOf, rabbitEngineSuite, type RabbitEngineCtx } from '../support/rabbitEngineSuite.js';

// Priorities on RabbitMQ. Work queues are quorum queues: from RabbitMQ 4.0 they
// have two priorities (AMQP priority 0–4 and none: normal; 5 and up: high),
// delivered about 2 high to 1 normal while both wait; before 4.0 they ignore
// the property and deliver in publish order. jobtrail publishes a job whose
// priority is above 0 with AMQP priority 5, and keeps it through delay hops.

const test = rabbitEngineSuite(`priorities on RabbitMQ (${testStoreLabel})`);

/** The server's major version, from the properties it sends when a connection opens. */
const serverMajor = async (): Promise<number> => {
  const model = await amqp.connect(rabbitUrl);
  try {
    const version = String((model.connection as unknown as { serverProperties: { version?: unknown } }).serverProperties.version ?? '');
    return Number(version.split('.')[0]);
  } finally {
    await model.close();
  }
};

const brokerOf = async (ctx: RabbitEngineCtx) => {
  const broker = await makeRabbitBroker({ url: rabbitUrl, connectionName: `jobtrail-test-${randomUUID()}` });
  ctx.brokers.push(broker);
  return broker;
};

test('the AMQP priority of a dispatch: 5 above 0, none otherwise, kept through a delay hop', async (ctx) => {
  const queue = queueOf(ctx, 'test-priority');
  const work = `jobtrail.work.${queue}`;
  const broker = await brokerOf(ctx);
  const publish = async (label: string, priority: number | undefined, delayMs = 0) => {
    const r = await broker.publish(work, {
      body: Buffer.from(JSON.stringify({ label })),
      ...(priority !== undefined ? { priority } : {}),
      delayMs,
    })();
    assert.is(r._tag, 'Right');
  };
  await publish('none', undefined);
  await publish('zero', 0);
  await publish('negative', -3);
  await publish('one', 1);
  await publish('fractional', 0.5);
  await publish('delayed-high', 9, 1_500);
  const raw = await openRawChannel();
  try {
    const got = new Map<string, unknown>();
    await waitFor(
      async () => {
        for (;;) {
          const m = await raw.channel.get(work, { noAck: true });
          if (m === false) break;
          got.set((JSON.parse(m.content.toString()) as { label: string }).label, m.properties.priority);
        }
        return got.size === 6;
      },
      15_000,
      'every message, the delayed one through its hop',
    );
    assert.equal(Object.fromEntries(got), {
      none: undefined,
      zero: undefined,
      negative: undefined,
      one: 5,
      fractional: 5,
      'delayed-high': 5,
    });
  } finally {
    await raw.close();
  }
});

test('a high-priority job enqueued behind 200 normal ones, one worker at concurrency 1', async (ctx) => {
  const major = await serverMajor();
  const queue = queueOf(ctx, 'test-priority');
  const started: string[] = [];
  const worker = defineWorker({
    name: `prio-${queue}`,
    queue,
    concurrency: 1,
    payload: t.type({ label: t.string }),
    action: async (p) => {
      started.push(p.label);
      return null;
    },
  });
  // rememberBroker: the store may be the tests' shared EventStoreDB, whose other tests use the in-process broker (issue 22).
  const broker = await brokerOf(ctx);
  const engine = await createEngine({ store: ctx.store, broker, workers: [worker], acceptCommands: false, rememberBroker: false });
  ctx.engines.push(engine);
  const ids: string[] = [];
  for (let i = 0; i < 200; i++) ids.push((await engine.enqueue(worker.name, { label: `normal-${i}` })).jobId);
  ids.push((await engine.enqueue(worker.name, { label: 'high' }, { priority: 5 })).jobId);
  // Everything is in the queue before the worker consumes it.
  await engine.start();
  const views = await engine.waitForFinal(ids, { timeoutMs: 120_000 });
  assert.ok(
    views.every((v) => v?.status === 'completed'),
    'every job completed',
  );
  assert.is(started.length, 201);
  const at = started.indexOf('high');
  if (major >= 4) {
    // Two levels, delivered about 2 high to 1 normal: the high one comes within the first few (prefetch 2).
    assert.ok(at < 20, `RabbitMQ ${major}.x: the high-priority job started ${at + 1}th of 201, expected within the first 20`);
  } else {
    // RabbitMQ 3.x quorum queues ignore the AMQP priority: publish order.
    assert.is(at, 200, `RabbitMQ ${major}.x: quorum queues deliver in publish order, so the high-priority job starts last`);
    assert.equal(
      started.slice(0, 200),
      Array.from({ length: 200 }, (_, i) => `normal-${i}`),
    );
  }
});

test.run();
