// The `purges-<day>` records expire (docs/retention.md#purge-records): the retention run deletes a day's stream
// once its day is older than `purgeRecordsFor` (default: the longest age, 30 days at least; for ever when a status
// is kept for ever). Store-independent, as integration/retention; the clock is injected on a day of its own.
import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { purgeStreamName, retentionPolicy, type RetentionOption } from '../../src/conductor/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { defineWorker } from '../../src/worker/index.js';
import { readyTestStore, testJobId, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

interface Ctx {
  store: StoreBackend;
  engines: Engine[];
  now: Date;
}
const test = suite<Ctx>(`purge records expire (${testStoreLabel}, in-process broker)`);
const dayMs = 86_400_000;
test.before(() => readyTestStore());
test.before.each(async (ctx) => {
  ctx.store = await makeStore(testMemoryStoreUrl());
  ctx.engines = [];
  // A day no other test (or run, on a shared EventStoreDB) records purges on: some day in 2100–2180, at 10:00 UTC.
  ctx.now = new Date(Date.UTC(2100, 0, 1, 10) + Math.floor(Math.random() * 30_000) * dayMs);
});
test.after.each(async (ctx) => {
  for (const e of ctx.engines) await e.close({ gracePeriodMs: 0 });
  await ctx.store.close();
});

const ok = () => defineWorker({ name: `ok-${randomUUID().slice(0, 8)}`, action: async () => 'fine' });

const engineOf = async (ctx: Ctx, worker: ReturnType<typeof ok>, retention?: RetentionOption) => {
  const engine = await createEngine({
    store: ctx.store,
    broker: 'memory',
    workers: [worker],
    now: () => ctx.now,
    sweepIntervalMs: 0,
    heartbeatIntervalMs: 0,
    rememberBroker: false,
    ...(retention !== undefined ? { retention } : {}),
  });
  ctx.engines.push(engine);
  return engine;
};

const streamLength = async (store: StoreBackend, stream: string): Promise<number> => {
  const r = await store.readStream(stream)();
  return E.isRight(r) ? r.right.length : -1;
};

/** Runs a job and purges it by hand on the injected day: `purges-<that day>` holds its record. */
const purgedToday = async (ctx: Ctx, engine: Engine, worker: ReturnType<typeof ok>): Promise<string> => {
  await engine.start();
  const jobId = testJobId(`rec-${randomUUID()}`);
  await engine.enqueue(worker, {}, { jobId });
  await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
  const report = await engine.purge([jobId], { by: 'ada', reason: 'test' });
  assert.is(report.done, 1);
  const stream = purgeStreamName(ctx.now);
  assert.is(await streamLength(ctx.store, stream), 1, `${stream} records the purge`);
  return stream;
};

test('by default a day of purge records is kept 30 days after it ends, then the retention run deletes it', async (ctx) => {
  const w = ok();
  const engine = await engineOf(ctx, w);
  const stream = await purgedToday(ctx, engine, w);
  const today = ctx.now.getTime();
  ctx.now = new Date(today + 30 * dayMs);
  assert.is((await engine.runRetention()).purgeRecordsDeleted, 0, 'the day ended less than 30 days ago: kept');
  assert.is(await streamLength(ctx.store, stream), 1);
  ctx.now = new Date(today + 31 * dayMs);
  const run = await engine.runRetention();
  assert.is(run.purgeRecordsDeleted, 1);
  assert.is(await streamLength(ctx.store, stream), 0, 'deleted');
  assert.is((await engine.runRetention()).purgeRecordsDeleted, 0, 'a second run finds nothing more');
});

test('a status kept for ever keeps the records for ever, unless purgeRecordsFor is set; it follows the longest age', async (ctx) => {
  const w = ok();
  const engine = await engineOf(ctx, w, { completed: '1d', errored: 'forever', cancelled: '7d' });
  const stream = await purgedToday(ctx, engine, w);
  const today = ctx.now.getTime();
  ctx.now = new Date(today + 390 * dayMs);
  assert.is((await engine.runRetention()).purgeRecordsDeleted, 0, 'errored kept for ever: records kept');
  assert.is(await streamLength(ctx.store, stream), 1);

  const configured = await engineOf(ctx, w, { completed: '1d', errored: 'forever', cancelled: '7d', purgeRecordsFor: '2d' });
  assert.is((await configured.runRetention()).purgeRecordsDeleted, 1, 'purgeRecordsFor: 2d deletes it');
  assert.is(await streamLength(ctx.store, stream), 0);

  assert.is(retentionPolicy({ completed: '1d', errored: '90d', cancelled: '7d' }).purgeRecordsMs, 90 * dayMs, 'the longest age');
  assert.is(retentionPolicy(undefined).purgeRecordsMs, 30 * dayMs, 'at least 30 days');
  assert.is(retentionPolicy('forever').purgeRecordsMs, undefined);
  assert.is(retentionPolicy({ purgeRecordsFor: 'forever' }).purgeRecordsMs, undefined);
  assert.throws(() => retentionPolicy({ purgeRecordsFor: '30' }), /retention\.purgeRecordsFor/);
  assert.throws(() => retentionPolicy({ purgeRecordsFor: -1 }), /retention\.purgeRecordsFor: -1 is not an age/);
});

test.run();
