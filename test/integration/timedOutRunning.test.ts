// "Timed out, still running" (issue 22, docs/running.md#timed-out-still-running): an action that ignores its
// aborted signal after the worker's timeout keeps its worker's slot until it returns; the record says so
// (`JobErrored` with `actionRunning`, the view's `actionsRunning`) until `JobActionReturned` clears it.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { makeMemoryBroker, type Broker } from '../../src/broker/index.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { replay } from '../../src/job/index.js';
import { formatView } from '../../src/present/index.js';
import { goneProcessesOf } from '../../src/conductor/index.js';
import { defineWorker, type Worker } from '../../src/worker/index.js';
import { observeFor, waitFor } from '../support/waitFor.js';
import { readyTestStore, testMemoryStoreUrl, testStoreLabel } from '../support/testStore.js';

interface Ctx {
  store: StoreBackend;
  broker: Broker;
  engines: Engine[];
}
const test = suite<Ctx>(`timed out, still running (${testStoreLabel}, in-process broker)`);

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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const engineOn = async (ctx: Ctx, workers: Worker<any>[]) => {
  const engine = await createEngine({ store: ctx.store, broker: ctx.broker, workers });
  ctx.engines.push(engine);
  return engine;
};

/** A worker whose job `n: 1` ignores its signal until `release()`; any other returns at once. */
const stubbornWorker = (name: string) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const started: number[] = [];
  const worker = defineWorker({
    name,
    concurrency: 1,
    timeoutMs: 100,
    maxAttempts: 3,
    retryDelay: () => 50,
    action: async (p: unknown) => {
      const n = (p as { n: number }).n;
      started.push(n);
      if (n === 1) await gate; // ignores ctx.signal
    },
  });
  return { worker, started, release: () => release() };
};

const types = async (engine: Engine, jobId: string) => (await engine.history(jobId)).map((r) => r.event.type);

test('the view says "timed out, still running" while the action runs on, keeps the slot, and clears it when it returns', async (ctx) => {
  const name = `stubborn-${randomUUID().slice(0, 8)}`;
  const { worker, started, release } = stubbornWorker(name);
  const engine = await engineOn(ctx, [worker]);
  await engine.start();
  const a = await engine.enqueue(worker, { n: 1 });
  const b = await engine.enqueue(worker, { n: 2 });

  await waitFor(async () => (await engine.getJob(a.jobId))?.actionsRunning !== undefined, 10_000, 'the timed-out attempt in the view');
  const view = (await engine.getJob(a.jobId))!;
  assert.is(view.status, 'errored');
  assert.is(view.lastError?.name, 'Timeout');
  assert.equal(
    view.actionsRunning?.map((r) => [r.attempt, r.workerId]),
    [[1, engine.processId]],
  );
  const errored = (await engine.history(a.jobId)).find((r) => r.event.type === 'JobErrored')!.event;
  assert.ok(errored.type === 'JobErrored' && errored.data.actionRunning === true, 'JobErrored records that the action still runs');
  // What `jobtrail show` prints for it: this process is alive.
  const gone = await goneProcessesOf(view, (id) => engine.processGone(id));
  assert.is(gone.size, 0, 'this process is not gone');
  assert.match(formatView(view, gone), 'timed out, still running: attempt 1');
  assert.match(formatView(view, gone), /status\s+awaiting_retry \(next attempt at .*\) \(timed out, still running\)/);

  // The slot is held: neither job b nor the retry of a starts while the action runs on.
  await observeFor(400);
  assert.equal(started, [1], 'nothing else started while the timed-out action held the only slot');
  assert.is((await engine.getJob(b.jobId))?.status, 'initial');

  release();
  await waitFor(async () => (await engine.getJob(a.jobId))?.actionsRunning === undefined, 10_000, 'the label cleared');
  const [va, vb] = await engine.waitForFinal([a.jobId, b.jobId], { timeoutMs: 10_000 });
  assert.is(vb?.status, 'completed');
  assert.is(va?.status, 'completed', 'the retry of a ran once the slot was free');
  const history = await engine.history(a.jobId);
  const t = history.map((r) => r.event.type);
  assert.ok(t.indexOf('JobActionReturned') > t.indexOf('JobErrored'), `JobActionReturned after JobErrored: ${t.join(', ')}`);
  assert.ok(
    t.indexOf('JobActionReturned') < t.indexOf('JobStarted', 2),
    'the slot went (and the retry started) after the return was recorded',
  );
  const returned = history.find((r) => r.event.type === 'JobActionReturned')!.event;
  assert.equal(returned.type === 'JobActionReturned' ? returned.data.attempt : 0, 1);
  assert.ok(E.isRight(replay(history.map((r) => r.event))), 'the history replays');
  assert.ok(!formatView(va!).includes('still running'));
});

test('the return is recorded at the revision read, reloaded on a conflict, and never changes the status', async (ctx) => {
  const name = `stubborn-${randomUUID().slice(0, 8)}`;
  const { worker, release } = stubbornWorker(name);
  const engine = await engineOn(ctx, [worker]);
  await engine.start();
  const a = await engine.enqueue(worker, { n: 1 });
  await waitFor(async () => (await engine.getJob(a.jobId))?.actionsRunning !== undefined, 10_000, 'the timed-out attempt in the view');
  // Another writer moves the job meanwhile: the process's last revision is stale when the action returns.
  const cancelled = await engine.cancel(a.jobId, { by: 'ada', reason: 'not needed' });
  assert.is(cancelled.status, 'cancelled');
  assert.is(cancelled.actionsRunning?.length, 1, 'still running after the cancel: it ignores its signal');
  release();
  await waitFor(async () => (await engine.getJob(a.jobId))?.actionsRunning === undefined, 10_000, 'the label cleared');
  assert.equal(await types(engine, a.jobId), ['JobEnqueued', 'JobStarted', 'JobErrored', 'JobCancelled', 'JobActionReturned']);
  const after = (await engine.getJob(a.jobId))!;
  assert.is(after.status, 'cancelled', 'the status stays');
  assert.is(after.updatedAt, cancelled.updatedAt, 'updatedAt stays');
});

test('an action that returns before its timeout, or respects its signal, leaves no label', async (ctx) => {
  const name = `polite-${randomUUID().slice(0, 8)}`;
  const polite = defineWorker({
    name,
    timeoutMs: 100,
    maxAttempts: 1,
    action: (_p: unknown, c) =>
      new Promise<void>((resolve, reject) => c.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
  });
  const engine = await engineOn(ctx, [polite]);
  await engine.start();
  const a = await engine.enqueue(polite, {});
  const [v] = await engine.waitForFinal([a.jobId], { timeoutMs: 10_000 });
  assert.is(v?.lastError?.name, 'Timeout');
  await observeFor(100);
  assert.is((await engine.getJob(a.jobId))?.actionsRunning, undefined);
  assert.equal(await types(engine, a.jobId), ['JobEnqueued', 'JobStarted', 'JobErrored']);
});

test('a process that is gone does not leave the label: processGone and formatView say the action went with it', async (ctx) => {
  const engine = await engineOn(ctx, []);
  // A pid that was alive and is not any more.
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const deadId = `${hostname()}:${child.stdout.toString()}:dead`;
  assert.is(await engine.processGone(deadId), true, 'a dead pid on this host is gone');
  assert.is(await engine.processGone(engine.processId), false, 'this engine is not');
  assert.is(
    await engine.processGone(`other-host-${randomUUID()}:1:x`),
    false,
    'a process of another host without heartbeats cannot be judged',
  );
  const view = {
    jobId: 'x',
    workerName: 'w',
    queue: 'default',
    payload: {},
    maxAttempts: 1,
    status: 'errored',
    attempts: 1,
    attemptBase: 0,
    enqueuedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:01.000Z',
    actionsRunning: [{ attempt: 1, since: '2026-01-01T00:00:01.000Z', workerId: deadId }],
  } as unknown as Parameters<typeof formatView>[0];
  const gone = await goneProcessesOf(view, (id) => engine.processGone(id));
  const text = formatView(view, gone);
  assert.not.match(text, 'timed out, still running');
  assert.match(text, `its process ${deadId} is gone, and the action with it`);
});

test.run();
