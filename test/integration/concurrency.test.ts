import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { makeMemoryBroker, type Broker } from '../../src/broker/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { defineWorker, type Worker } from '../../src/worker/index.js';
import { gaugedWorker, newGauge } from '../support/concurrency.js';
import { readyTestStore, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

interface Ctx {
  store: StoreBackend;
  broker: Broker;
  engines: Engine[];
}
const test = suite<Ctx>(`per-worker concurrency (${testStoreLabel}, in-process broker)`);

test.before(readyTestStore);
test.before.each(async (ctx) => {
  ctx.store = await makeStore(testMemoryStoreUrl());
  ctx.broker = makeMemoryBroker();
  ctx.engines = [];
});
test.after.each(async (ctx) => {
  for (const e of ctx.engines) await e.close({ gracePeriodMs: 0 });
  await ctx.broker.close();
  await ctx.store.close();
});

/** A logger whose lines are kept, parsed. */
const capture = () => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const engineOn = async (ctx: Ctx, workers: Worker<any>[], extra: Partial<Parameters<typeof createEngine>[0]> = {}) => {
  const engine = await createEngine({ store: ctx.store, broker: ctx.broker, workers, ...extra });
  ctx.engines.push(engine);
  return engine;
};

test('two workers on one queue (concurrency 1 and 10): each stays within its own concurrency; every job completes', async (ctx) => {
  const queue = `q-${randomUUID().slice(0, 8)}`;
  const one = newGauge();
  const ten = newGauge();
  const w1 = gaugedWorker(one, 'e', { name: 'one', queue, concurrency: 1, ms: 15 });
  const w10 = gaugedWorker(ten, 'e', { name: 'ten', queue, concurrency: 10, ms: 15 });
  const engine = await engineOn(ctx, [w1, w10]);
  await engine.start();
  // Interleaved, and the slow one's all first too: neither order may let `one` run twice at once.
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push((await engine.enqueue(w1, { i })).jobId);
  for (let i = 0; i < 30; i++) ids.push((await engine.enqueue(w10, { i })).jobId);
  const views = await engine.waitForFinal(ids, { timeoutMs: 30_000 });
  assert.ok(
    views.every((v) => v?.status === 'completed'),
    'every job completed',
  );
  assert.is(one.max.get('e'), 1, 'worker "one" never ran more than 1 at once');
  assert.ok((ten.max.get('e') ?? 0) <= 10, `worker "ten" ran at most 10 at once (${ten.max.get('e')})`);
  assert.ok((ten.max.get('e') ?? 0) > 1, `worker "ten" was not held to one at a time by "one" (${ten.max.get('e')})`);
});

test('a timed-out action that ignores its signal keeps its slot until it returns: the next job of the worker waits', async (ctx) => {
  const events: string[] = [];
  let firstReturnedAt = 0;
  let secondStartedAt = 0;
  const stubborn = defineWorker({
    name: 'stubborn',
    concurrency: 1,
    timeoutMs: 100,
    maxAttempts: 1,
    action: async (p: unknown) => {
      const n = (p as { n: number }).n;
      events.push(`start ${n}`);
      if (n === 2) secondStartedAt = Date.now();
      // Ignores ctx.signal.
      await new Promise((resolve) => setTimeout(resolve, n === 1 ? 1000 : 10));
      if (n === 1) firstReturnedAt = Date.now();
      events.push(`return ${n}`);
    },
  });
  const { lines, logger } = capture();
  const engine = await engineOn(ctx, [stubborn], { logger });
  await engine.start();
  const a = await engine.enqueue(stubborn, { n: 1 });
  const b = await engine.enqueue(stubborn, { n: 2 });
  const [va, vb] = await engine.waitForFinal([a.jobId, b.jobId], { timeoutMs: 10_000 });
  assert.is(va!.status, 'errored');
  assert.is(va!.lastError!.name, 'Timeout', 'the first attempt is still recorded as Timeout');
  assert.is(vb!.status, 'completed');
  assert.equal(events, ['start 1', 'return 1', 'start 2', 'return 2']);
  assert.ok(secondStartedAt >= firstReturnedAt, 'the second job started only after the first action returned');
  // Where an operator looks: the log says the slot is kept, then freed.
  const kept = lines.find((l) => String(l.msg).includes('keeps a slot'));
  assert.ok(kept, 'a line says the timed-out action keeps its slot');
  assert.is(kept!.jobId, a.jobId);
  assert.is(kept!.workerName, 'stubborn');
  assert.match(String(kept!.msg), /recorded as Timeout/);
  assert.ok(
    lines.some((l) => String(l.msg).includes('its slot is free again') && l.workerName === 'stubborn'),
    'a line says the slot is free again',
  );
});

test('a delivery waiting for a slot is handed back when the engine stops, and runs in the next engine', async (ctx) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const started: number[] = [];
  const slow = defineWorker({
    name: 'slow',
    concurrency: 1,
    action: async (p: unknown) => {
      started.push((p as { n: number }).n);
      if ((p as { n: number }).n === 1) await gate;
    },
  });
  const engine = await engineOn(ctx, [slow]);
  await engine.start();
  const a = await engine.enqueue(slow, { n: 1 });
  const b = await engine.enqueue(slow, { n: 2 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(started, [1], 'the second waits for the slot');
  const stopping = engine.stop({ gracePeriodMs: 5_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  release();
  await stopping;
  assert.equal(started, [1], 'the waiting delivery did not start while the engine stopped');
  const next = await engineOn(ctx, [slow]);
  await next.start();
  const [va, vb] = await next.waitForFinal([a.jobId, b.jobId], { timeoutMs: 5_000 });
  assert.is(va!.status, 'completed');
  assert.is(vb!.status, 'completed');
  assert.equal(started, [1, 2]);
});

test.run();
