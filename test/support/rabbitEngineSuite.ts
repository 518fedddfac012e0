// The setup the engine-on-RabbitMQ test files share: a suite whose context
// holds a store (testStore.ts: ESDB_URL's server or an in-memory SQLite), the
// brokers and engines a test opens (closed after it), and the queues it used
// (deleted after it).
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import type { Broker } from '../../src/broker/index.js';
import type { Engine } from '../../src/engine.js';
import { deleteQueues } from './rabbit.js';
import { readyTestStore, testMemoryStoreUrl } from './testStore.js';

export interface RabbitEngineCtx {
  store: StoreBackend;
  brokers: Broker[];
  engines: Engine[];
  queues: string[];
}

export const rabbitEngineSuite = (name: string) => {
  const test = suite<RabbitEngineCtx>(name);
  test.before(readyTestStore);
  test.before.each(async (ctx) => {
    ctx.store = await makeStore(testMemoryStoreUrl());
    ctx.brokers = [];
    ctx.engines = [];
    ctx.queues = [];
  });
  test.after.each(async (ctx) => {
    for (const e of ctx.engines) await e.close({ gracePeriodMs: 0 });
    for (const b of ctx.brokers) await b.close();
    await ctx.store.close();
    await deleteQueues(ctx.queues);
  });
  return test;
};

/** A queue name of this test only, so tests never see each other's work; deleted after the test. */
export const queueOf = (ctx: RabbitEngineCtx, prefix = 'test'): string => {
  const q = `${prefix}-${randomUUID()}`;
  ctx.queues.push(`jobtrail.work.${q}`, `jobtrail.work.${q}.dead`);
  return q;
};
