// Cancelling a running job (issue 22), embedded: SQLite and the in-process broker. `engine.cancel` on an
// in_progress job records JobCancelRequested; the process running it aborts ctx.signal within a second
// (the same engine at once; another engine on the same SQLite file through the store subscription), and the
// attempt ends as JobCancelled when the action returns: never retried. An action that still returns a result
// ends as JobCompleted (docs/architecture.md#cancelling-a-running-attempt).
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { makeStore, type StoreBackend } from '../../src/backends/index.js';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine.js';
import { isoDate, jobStreamName, replay, type JobEvent } from '../../src/job/index.js';
import { isJobtrailError, ErrorCodes } from '../../src/errors/index.js';
import { defineWorker } from '../../src/worker/index.js';
import { readyTestStore, testStoreLabel, testStoreUrl } from '../support/testStore.js';
import { observeFor, waitFor } from '../support/waitFor.js';

const test = suite(`cancel a running job (${testStoreLabel})`);
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-cancel-running-'));
const engines: Engine[] = [];
const stores: StoreBackend[] = [];
let n = 0;

// Each test's engines stop with it: on a shared EventStoreDB (ESDB_URL) a started engine with the in-process broker
// would take up the next tests' jobs, which it has no worker for.
test.after.each(async () => {
  for (const e of engines.splice(0)) await e.close({ gracePeriodMs: 0 });
  for (const s of stores.splice(0)) await s.close();
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** What one action saw: when it started, when its signal was aborted and why. */
interface Seen {
  started?: number;
  abortedAt?: number;
  reason?: unknown;
}

/** An action that waits for its signal (a cooperative one), or ignores it until `release` is called. */
const makeWorker = (name: string, mode: 'cooperative' | 'ignores' | 'returns', seen: Map<string, Seen>) => {
  const releases = new Map<string, () => void>();
  const worker = defineWorker({
    name,
    concurrency: 1,
    maxAttempts: 3,
    payload: t.type({ key: t.string }),
    action: async ({ key }, ctx) => {
      const s: Seen = { started: Date.now() };
      seen.set(key, s);
      ctx.signal.addEventListener('abort', () => Object.assign(s, { abortedAt: Date.now(), reason: ctx.signal.reason }), { once: true });
      if (mode === 'cooperative')
        await new Promise<never>((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted by cancel')), { once: true }),
        );
      await new Promise<void>((resolve) => releases.set(key, resolve));
      if (mode === 'ignores') ctx.signal.throwIfAborted();
      return { done: key };
    },
  });
  return { worker, release: (key: string) => releases.get(key)?.() };
};

/** A new SQLite file, or the EventStoreDB of ESDB_URL (`npm run test:esdb-fake` runs this file on the fake node too). */
const fileStore = async (): Promise<string> => {
  await readyTestStore();
  return testStoreUrl(dir, `events-${++n}.db`);
};
const engineOn = async (url: string, workers: EngineOptions['workers'], start = true) => {
  const store = await makeStore(url);
  stores.push(store);
  // 'memory': the engine opens the in-process broker, and closes it (with its delayed dispatches) when it closes.
  const engine = await createEngine({ store, broker: 'memory', workers, acceptCommands: false, sweepIntervalMs: 0 });
  engines.push(engine);
  if (start) await engine.start();
  return engine;
};
const types = async (engine: Engine, jobId: string) => (await engine.history(jobId)).map((e) => e.event.type);
const validHistory = async (engine: Engine, jobId: string) => {
  const r = replay((await engine.history(jobId)).map((e) => e.event as JobEvent));
  assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
};

test('the same engine: the request is recorded, the signal is aborted at once with reason "cancelled", the attempt ends JobCancelled', async () => {
  const seen = new Map<string, Seen>();
  const { worker } = makeWorker('coop-1', 'cooperative', seen);
  const engine = await engineOn(await fileStore(), [worker]);
  const { jobId } = await engine.enqueue(worker, { key: 'a' });
  await waitFor(() => seen.get('a')?.started !== undefined, 5_000, 'the action to start');
  const asked = Date.now();
  const view = await engine.cancel(jobId, { by: 'ada', reason: 'wrong file' });
  assert.is(view.status, 'in_progress');
  assert.equal(view.cancelRequested, { at: view.cancelRequested!.at, attempt: 1, by: 'ada', reason: 'wrong file' });
  await waitFor(() => seen.get('a')?.abortedAt !== undefined, 1_000, 'the signal to be aborted within a second');
  assert.is(seen.get('a')?.reason, 'cancelled');
  const [final] = await engine.waitForFinal([jobId], { timeoutMs: 5_000 });
  assert.is(final?.status, 'cancelled');
  assert.is(final?.cancelReason, 'wrong file');
  assert.is(final?.cancelRequested, undefined);
  assert.is(final?.attempts, 1);
  console.log(`  same engine: aborted ${seen.get('a')!.abortedAt! - asked} ms after the request`);
  assert.equal(await types(engine, jobId), ['JobEnqueued', 'JobStarted', 'JobCancelRequested', 'JobCancelled']);
  const history = await engine.history(jobId);
  assert.is(history[2]?.metadata['by'], 'ada', 'who asked is in the metadata too');
  const cancelled = history[3]?.event;
  assert.equal(cancelled?.type === 'JobCancelled' ? cancelled.data : undefined, {
    at: final!.cancelledAt!,
    attempt: 1,
    reason: 'wrong file',
    by: 'ada',
  });
  await validHistory(engine, jobId);
  // Final: nothing retries it.
  await observeFor(300);
  assert.is((await engine.getJob(jobId))?.status, 'cancelled');
});

test('another engine on the same SQLite file (as the CLI): the running process aborts within a second through the store', async () => {
  const seen = new Map<string, Seen>();
  const { worker } = makeWorker('coop-2', 'cooperative', seen);
  const url = await fileStore();
  const runner = await engineOn(url, [worker]);
  const cli = await engineOn(url, [], false);
  const { jobId } = await runner.enqueue(worker, { key: 'b' });
  await waitFor(() => seen.get('b')?.started !== undefined, 5_000, 'the action to start');
  const asked = Date.now();
  const view = await cli.cancel(jobId, { by: 'cli-user' });
  assert.is(view.status, 'in_progress');
  assert.is(view.cancelRequested?.by, 'cli-user');
  await waitFor(() => seen.get('b')?.abortedAt !== undefined, 1_000, 'the running engine to abort within a second');
  console.log(`  other engine, same file: aborted ${seen.get('b')!.abortedAt! - asked} ms after the request`);
  const [final] = await runner.waitForFinal([jobId], { timeoutMs: 5_000 });
  assert.is(final?.status, 'cancelled');
  assert.equal(await types(runner, jobId), ['JobEnqueued', 'JobStarted', 'JobCancelRequested', 'JobCancelled']);
  await validHistory(runner, jobId);
});

test('an action that ignores its signal keeps its slot until it returns; then the job is cancelled, not retried', async () => {
  const seen = new Map<string, Seen>();
  const { worker, release } = makeWorker('ignores-1', 'ignores', seen);
  const engine = await engineOn(await fileStore(), [worker]);
  const first = await engine.enqueue(worker, { key: 'c' });
  await waitFor(() => seen.get('c')?.started !== undefined, 5_000, 'the action to start');
  const second = await engine.enqueue(worker, { key: 'd' });
  await engine.cancel(first.jobId, { by: 'ada' });
  await waitFor(() => seen.get('c')?.abortedAt !== undefined, 1_000, 'the signal to be aborted');
  // Concurrency 1: the slot is still held by the action that ignores its signal.
  await observeFor(400);
  assert.is(seen.get('d'), undefined, 'the second job did not start while the first action ran');
  const running = await engine.getJob(first.jobId);
  assert.is(running?.status, 'in_progress');
  assert.is(running?.cancelRequested?.by, 'ada');
  release('c');
  const [final] = await engine.waitForFinal([first.jobId], { timeoutMs: 5_000 });
  assert.is(final?.status, 'cancelled');
  await waitFor(() => seen.get('d')?.started !== undefined, 5_000, 'the second job to start once the slot is free');
  release('d');
  const [other] = await engine.waitForFinal([second.jobId], { timeoutMs: 5_000 });
  assert.is(other?.status, 'completed');
  assert.equal(await types(engine, first.jobId), ['JobEnqueued', 'JobStarted', 'JobCancelRequested', 'JobCancelled']);
  await validHistory(engine, first.jobId);
});

test('an action that still returns a result after the request ends JobCompleted with it (the request stays in the history)', async () => {
  const seen = new Map<string, Seen>();
  const { worker, release } = makeWorker('returns-1', 'returns', seen);
  const engine = await engineOn(await fileStore(), [worker]);
  const { jobId } = await engine.enqueue(worker, { key: 'e' });
  await waitFor(() => seen.get('e')?.started !== undefined, 5_000, 'the action to start');
  await engine.cancel(jobId, { by: 'ada' });
  await waitFor(() => seen.get('e')?.abortedAt !== undefined, 1_000, 'the signal to be aborted');
  release('e');
  const [final] = await engine.waitForFinal([jobId], { timeoutMs: 5_000 });
  assert.is(final?.status, 'completed');
  assert.equal(final?.result, { done: 'e' });
  assert.equal(await types(engine, jobId), ['JobEnqueued', 'JobStarted', 'JobCancelRequested', 'JobCompleted']);
  await validHistory(engine, jobId);
});

test('asking again while the attempt runs records nothing and returns the first request; a finished job is refused', async () => {
  const seen = new Map<string, Seen>();
  const { worker, release } = makeWorker('ignores-2', 'ignores', seen);
  const engine = await engineOn(await fileStore(), [worker]);
  const { jobId } = await engine.enqueue(worker, { key: 'f' });
  await waitFor(() => seen.get('f')?.started !== undefined, 5_000, 'the action to start');
  const firstAsk = await engine.cancel(jobId, { by: 'ada', reason: 'first' });
  const secondAsk = await engine.cancel(jobId, { by: 'bob', reason: 'second' });
  assert.equal(secondAsk.cancelRequested, firstAsk.cancelRequested);
  assert.equal(await types(engine, jobId), ['JobEnqueued', 'JobStarted', 'JobCancelRequested']);
  release('f');
  await engine.waitForFinal([jobId], { timeoutMs: 5_000 });
  try {
    await engine.cancel(jobId, { by: 'bob' });
    assert.unreachable('a cancelled job cannot be cancelled again');
  } catch (error) {
    assert.ok(isJobtrailError(error, ErrorCodes.TransitionRejected), String(error));
  }
});

test('an attempt whose process is gone, with a cancel requested, ends cancelled at recovery: not retried as WorkerLost', async () => {
  const url = await fileStore();
  const store = await makeStore(url);
  stores.push(store);
  const jobId = `lost-${randomUUID()}`;
  const now = Date.now();
  const at = (ms: number) => isoDate(new Date(now + ms));
  const events: JobEvent[] = [
    {
      type: 'JobEnqueued',
      data: {
        jobId: jobId as never,
        workerName: 'coop-3',
        queue: 'default',
        payload: { key: 'g' },
        maxAttempts: 3 as never,
        enqueuedAt: at(0),
      },
    },
    // A process of this host, with this pid, that is no engine open here: an earlier life of the pid, gone.
    {
      type: 'JobStarted',
      data: { attempt: 1 as never, workerId: `${hostname()}:${process.pid}:gone0001`, backgroundJobId: 'm-1', startedAt: at(10) },
    },
    { type: 'JobCancelRequested', data: { attempt: 1 as never, at: at(20), by: 'ada' } },
  ];
  const r = await store.append(
    jobStreamName(jobId),
    events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data })),
    { expectedRevision: 'no_stream' },
  )();
  assert.ok(E.isRight(r));
  const seen = new Map<string, Seen>();
  const { worker } = makeWorker('coop-3', 'cooperative', seen);
  const engine = await engineOn(url, [worker]);
  const [final] = await engine.waitForFinal([jobId], { timeoutMs: 5_000 });
  assert.is(final?.status, 'cancelled');
  assert.equal(await types(engine, jobId), ['JobEnqueued', 'JobStarted', 'JobCancelRequested', 'JobCancelled']);
  assert.is(seen.get('g'), undefined, 'never run again');
  await validHistory(engine, jobId);
});

test.run();
