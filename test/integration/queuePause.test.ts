// Pausing a queue in one process (docs/queues.md): the engine's consumer stops and starts again, a delivery that has
// not started its attempt goes back, the sweep leaves a paused queue's waiting jobs alone, listQueues and the
// warnings of an enqueue nobody will take.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, defineWorker, type Engine } from '../../src/index.js';
import { makeSleeper } from '../fixtures/workers.js';
import { readyTestStore, testMemoryStoreUrl, testStoreLabel, testStoreUrl } from '../support/testStore.js';
import { observeFor, waitFor } from '../support/waitFor.js';

const test = suite(`pausing a queue, in one process (${testStoreLabel})`);
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-queue-pause-'));
test.before(() => readyTestStore());
test.after(() => rmSync(dir, { recursive: true, force: true }));
const engines: Engine[] = [];
test.after.each(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close({ gracePeriodMs: 0 })));
});

const open = async (options: Parameters<typeof createEngine>[0]) => {
  const engine = await createEngine(options);
  engines.push(engine);
  return engine;
};

test('a started engine stops taking work within a second of a pause by another engine, and takes it again on resume', async () => {
  const queue = `q-${randomUUID().slice(0, 8)}`;
  const sleeper = makeSleeper(queue);
  const url = testStoreUrl(dir, `${queue}.db`);
  const worker = await open({ store: url, workers: [sleeper], sweepIntervalMs: 0 });
  await worker.start();
  const control = await open({ store: url, workers: [sleeper], recover: false });
  const first = await worker.enqueue(sleeper, { value: 1 });
  await worker.waitForFinal([first.jobId], { timeoutMs: 5_000 });

  const r = await control.pauseQueue(queue, { by: 'ada', reason: 'maintenance' });
  const pausedAt = Date.parse(r.control.changedAt!);
  await observeFor(1_000);
  const waiting = await worker.enqueue(sleeper, { value: 2 });
  assert.match(waiting.warnings?.[0] ?? '', new RegExp(`queue "${queue}" is paused by ada since .* \\(maintenance\\)`));
  await observeFor(800);
  assert.is((await worker.getJob(waiting.jobId))?.status, 'initial', 'waits in the paused queue');
  const [info] = (await worker.listQueues()).filter((q) => q.name === queue);
  assert.equal(
    {
      paused: info?.paused,
      by: info?.pausedBy,
      reason: info?.pauseReason,
      depth: info?.depth,
      consumers: info?.consumers,
      workers: info?.workers,
    },
    { paused: true, by: 'ada', reason: 'maintenance', depth: 1, consumers: 0, workers: ['sleeper'] },
  );
  assert.ok(Date.now() - pausedAt >= 1_000);

  await control.resumeQueue(queue, { by: 'ada' });
  const [done] = await worker.waitForFinal([waiting.jobId], { timeoutMs: 5_000 });
  assert.is(done?.status, 'completed');
  assert.ok(Date.parse(done!.startedAt!) > pausedAt + 1_000);
});

test('a running job finishes; deliveries that have not started go back and wait (the queue holds them)', async () => {
  const queue = `q-${randomUUID().slice(0, 8)}`;
  // Concurrency 1: one runs, the others wait for its slot when the pause comes.
  const slow = defineWorker({
    name: 'slow',
    queue,
    concurrency: 1,
    action: async (p: unknown) => new Promise((r) => setTimeout(() => r(p), 700)),
  });
  const engine = await open({ store: testMemoryStoreUrl(), workers: [slow], sweepIntervalMs: 0 });
  await engine.start();
  const ids = (await engine.enqueueMany([1, 2, 3, 4].map((i) => ({ worker: slow, payload: i })))).map((e) => e.jobId);
  await waitFor(async () => (await engine.getJob(ids[0]!))?.status === 'in_progress', 5_000, 'the first to run');
  const r = await engine.pauseQueue(queue, { by: 'test' });
  const pausedAt = Date.parse(r.control.changedAt!);
  const [firstDone] = await engine.waitForFinal([ids[0]!], { timeoutMs: 5_000 });
  assert.is(firstDone?.status, 'completed', 'the running job finished');
  await observeFor(1_500);
  const statuses = await Promise.all(ids.slice(1).map(async (id) => (await engine.getJob(id))?.status));
  assert.equal(statuses, ['initial', 'initial', 'initial'], 'nothing started after the pause');
  assert.is((await engine.listQueues()).find((q) => q.name === queue)?.depth, 3, 'the three wait in the queue');
  await engine.resumeQueue(queue);
  const views = await engine.waitForFinal(ids, { timeoutMs: 10_000 });
  assert.ok(views.every((v) => v.status === 'completed' && v.attempts === 1));
  for (const v of views.slice(1)) assert.ok(Date.parse(v.startedAt!) > pausedAt);
});

test('the sweep does not dispatch again the jobs that wait in a paused queue (they are not stranded)', async () => {
  const queue = `q-${randomUUID().slice(0, 8)}`;
  const sleeper = makeSleeper(queue);
  // Sweeps every 200 ms (± 20 %), and a job 300 ms past due counts as overdue: without the pause it would be dispatched again.
  const engine = await open({ store: testMemoryStoreUrl(), workers: [sleeper], sweepIntervalMs: 200, sweepGraceMs: 300 });
  await engine.start();
  await engine.pauseQueue(queue);
  const { jobId } = await engine.enqueue(sleeper, { value: 'x' });
  const depth = async () => (await engine.listQueues()).find((q) => q.name === queue)?.depth;
  assert.is(await depth(), 1);
  await observeFor(2_000); // about nine sweeps
  assert.is(await depth(), 1, 'no second copy in the paused queue');
  await engine.resumeQueue(queue);
  const [v] = await engine.waitForFinal([jobId], { timeoutMs: 5_000 });
  assert.is(v?.status, 'completed');
  assert.is(v?.attempts, 1);
});

test('the warning for a queue no process consumes: the job is recorded all the same', async () => {
  const queue = `nobody-${randomUUID().slice(0, 8)}`;
  const sleeper = makeSleeper(queue);
  const engine = await open({ store: testMemoryStoreUrl(), workers: [], recover: false });
  const r = await engine.enqueue(sleeper, { value: 1 });
  assert.is(r.created, true);
  assert.equal(r.warnings, [
    `no process consumes queue "${queue}": job ${r.jobId} is recorded and waits until a process that runs its worker starts (jobtrail run)`,
  ]);
  assert.is((await engine.getJob(r.jobId))?.status, 'initial');
  const [info] = (await engine.listQueues()).filter((q) => q.name === queue);
  assert.equal(
    { paused: info?.paused, consumers: info?.consumers, noConsumer: info?.noConsumer },
    { paused: false, consumers: 0, noConsumer: true },
  );
  // A started engine that runs the worker consumes it: no warning.
  const runner = await open({ store: testMemoryStoreUrl(), workers: [sleeper] });
  await runner.start();
  const ok = await runner.enqueue(sleeper, { value: 2 });
  assert.is(ok.warnings, undefined);
});

test.run();
