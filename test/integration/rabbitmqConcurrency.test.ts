import { randomUUID } from 'node:crypto';
import * as assert from 'uvu/assert';
import { makeRabbitBroker } from '../../src/broker/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import type { Worker } from '../../src/worker/index.js';
import { gaugedWorker, newGauge, type Gauge } from '../support/concurrency.js';
import { rabbitUrl } from '../support/rabbit.js';
import { testStoreLabel } from '../support/testStore.js';
import { queueOf, rabbitEngineSuite, type RabbitEngineCtx } from '../support/rabbitEngineSuite.js';

const test = rabbitEngineSuite(`per-worker concurrency on RabbitMQ (${testStoreLabel})`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const engineOn = async (ctx: RabbitEngineCtx, workers: Worker<any>[]) => {
  const broker = await makeRabbitBroker({ url: rabbitUrl, connectionName: `jobtrail-test-${randomUUID()}` });
  ctx.brokers.push(broker);
  // rememberBroker: the store may be the tests' shared EventStoreDB, whose other tests use the in-process broker (issue 22).
  const engine = await createEngine({ store: ctx.store, broker, workers, acceptCommands: false, rememberBroker: false });
  ctx.engines.push(engine);
  return engine;
};

const runShared = async (ctx: RabbitEngineCtx, engineCount: number): Promise<{ one: Gauge; ten: Gauge; labels: string[] }> => {
  const queue = queueOf(ctx);
  const one = newGauge();
  const ten = newGauge();
  const labels = Array.from({ length: engineCount }, (_, i) => `engine-${i}`);
  const engines: Engine[] = [];
  for (const label of labels) {
    engines.push(
      await engineOn(ctx, [
        gaugedWorker(one, label, { name: `one-${queue}`, queue, concurrency: 1, ms: 40 }),
        gaugedWorker(ten, label, { name: `ten-${queue}`, queue, concurrency: 10, ms: 40 }),
      ]),
    );
  }
  const first = engines[0]!;
  // Published before any engine consumes: the queue holds all 60 when the consumers attach.
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push((await first.enqueue(`one-${queue}`, { i })).jobId);
  for (let i = 0; i < 30; i++) ids.push((await first.enqueue(`ten-${queue}`, { i })).jobId);
  await Promise.all(engines.map((e) => e.start()));
  const views = await first.waitForFinal(ids, { timeoutMs: 60_000 });
  assert.ok(
    views.every((v) => v?.status === 'completed'),
    `every job completed: ${views.filter((v) => v?.status !== 'completed').length} did not`,
  );
  assert.is(one.ran, 30);
  assert.is(ten.ran, 30);
  return { one, ten, labels };
};

test('two workers on one queue (concurrency 1 and 10): the first never runs more than 1 at once', async (ctx) => {
  const { one, ten } = await runShared(ctx, 1);
  assert.is(one.max.get('engine-0'), 1, `worker "one" ran ${one.max.get('engine-0')} at once`);
  assert.ok((ten.max.get('engine-0') ?? 0) <= 10, `worker "ten" ran ${ten.max.get('engine-0')} at once`);
});

test('two engines share the queue: the limit holds in each process', async (ctx) => {
  const { one, ten, labels } = await runShared(ctx, 2);
  for (const label of labels) {
    assert.ok((one.max.get(label) ?? 0) <= 1, `worker "one" ran ${one.max.get(label)} at once in ${label}`);
    assert.ok((ten.max.get(label) ?? 0) <= 10, `worker "ten" ran ${ten.max.get(label)} at once in ${label}`);
  }
});

test.run();
