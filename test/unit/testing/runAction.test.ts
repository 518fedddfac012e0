import { setTimeout as sleep } from 'node:timers/promises';
import * as t from 'io-ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defineWorker, NonRetryableError } from '../../../src/index.js';
import { runAction } from '../../../src/testing/index.js';
import { capturedLogger } from '../../support/tracing.js';

// jobtrail/testing's runAction: one attempt of a worker's action, decided as the engine decides it.
const test = suite('jobtrail/testing: runAction');

const at = (iso: string) => () => new Date(iso);

test('a completed action: its result as recorded, its progress, the context it saw, the events', async () => {
  const seen: unknown[] = [];
  const worker = defineWorker({
    name: 'resize',
    payload: t.type({ width: t.number }),
    action: async ({ width }, ctx) => {
      seen.push({ jobId: ctx.jobId, attempt: ctx.attempt, aborted: ctx.signal.aborted });
      await ctx.progress(30, 'reading');
      await ctx.progress(200);
      return { width, at: new Date('2026-01-01T00:00:00Z') };
    },
  });
  const run = await runAction(worker, { width: 640 }, { jobId: 'resize-1', now: at('2026-12-06T10:00:00Z') });
  assert.is(run.status, 'completed');
  if (run.status !== 'completed') return;
  assert.equal(run.result, { width: 640, at: '2026-01-01T00:00:00.000Z' }, 'recorded through JSON, as the engine records it');
  assert.equal(seen, [{ jobId: 'resize-1', attempt: 1, aborted: false }]);
  assert.equal(run.progress, [
    { at: '2026-12-06T10:00:00.000Z', percent: 30, message: 'reading' },
    { at: '2026-12-06T10:00:00.000Z', percent: 100 },
  ]);
  assert.equal(
    run.events.map((e) => e.type),
    ['JobEnqueued', 'JobStarted', 'JobProgressed', 'JobProgressed', 'JobCompleted'],
  );
  assert.is(run.job.status, 'completed');
});

test("a thrown error is retried by the worker's retryDelay; a NonRetryableError, or the last attempt, is not", async () => {
  const worker = defineWorker({
    name: 'flaky',
    maxAttempts: 3,
    retryDelay: (attempt) => attempt * 60_000,
    action: async (p: { fatal?: boolean }) => {
      if (p.fatal) throw new NonRetryableError('the card was refused');
      throw new Error('the API timed out');
    },
  });
  const now = at('2026-12-06T10:00:00Z');
  const first = await runAction(worker, {}, { now });
  assert.is(first.status, 'errored');
  if (first.status !== 'errored') return;
  assert.is(first.error.name, 'Error');
  assert.is(first.error.message, 'the API timed out');
  assert.ok(first.error.stack?.includes('the API timed out'));
  assert.is(first.retryAt, '2026-12-06T10:01:00.000Z');

  const second = await runAction(worker, {}, { now, attempt: 2 });
  assert.is(second.status === 'errored' && second.retryAt, '2026-12-06T10:02:00.000Z');
  const last = await runAction(worker, {}, { now, attempt: 3 });
  assert.is(last.status === 'errored' && last.retryAt, undefined, 'no attempt left');
  assert.equal(
    last.events.map((e) => e.type),
    ['JobEnqueued', ...['JobStarted', 'JobErrored', 'JobReset', 'JobStarted', 'JobErrored', 'JobReset'], 'JobStarted', 'JobErrored'],
  );

  const fatal = await runAction(worker, { fatal: true }, { now });
  assert.is(fatal.status === 'errored' && fatal.error.name, 'NonRetryableError');
  assert.is(fatal.status === 'errored' && fatal.retryAt, undefined);
});

test("the worker's timeout aborts ctx.signal and ends the attempt as Timeout; a late result is not recorded", async () => {
  let sawAbort = false;
  const worker = defineWorker({
    name: 'slow',
    timeoutMs: 50,
    action: async (_p: unknown, ctx) => {
      ctx.signal.addEventListener('abort', () => (sawAbort = true));
      await sleep(300);
      return 'too late';
    },
  });
  const run = await runAction(worker, {});
  assert.is(run.status, 'errored');
  assert.is(run.status === 'errored' && run.error.name, 'Timeout');
  assert.ok(sawAbort, 'the action saw its signal abort');
  assert.is(run.job.result, undefined);
});

test('options.signal stops the action as a shutdown does: Interrupted, retried', async () => {
  const stop = new AbortController();
  const worker = defineWorker({
    name: 'long',
    action: async (_p: unknown, ctx) => {
      await sleep(10_000, undefined, { signal: ctx.signal });
    },
  });
  const running = runAction(worker, {}, { signal: stop.signal });
  setTimeout(() => stop.abort('shutdown'), 20);
  const run = await running;
  assert.is(run.status === 'errored' && run.error.name, 'Interrupted');
  assert.ok(run.status === 'errored' && run.retryAt !== undefined);
});

test("a payload the worker's codec refuses ends as InvalidPayload, and the action never runs", async () => {
  let ran = false;
  const worker = defineWorker({
    name: 'typed',
    payload: t.type({ userId: t.number }),
    action: async () => {
      ran = true;
    },
  });
  const run = await runAction(worker, { userId: 'x' } as unknown as { userId: number });
  assert.is(run.status === 'errored' && run.error.name, 'InvalidPayload');
  assert.match(run.status === 'errored' ? run.error.message : '', 'userId');
  assert.not.ok(ran);
});

test('a bad attempt number is refused', async () => {
  const worker = defineWorker({ name: 'x', action: async () => undefined });
  await runAction(worker, {}, { attempt: 0 }).then(
    () => assert.unreachable('attempt 0 should be refused'),
    (error: Error) => assert.match(error.message, 'attempt must be a whole number ≥ 1, got 0'),
  );
});

test('ctx.log: silent by default; with a logger, its lines are bound to the job, the attempt and the worker', async () => {
  const chatty = defineWorker({
    name: 'chatty',
    action: async (_p: unknown, ctx) => {
      ctx.log.info({ step: 1 }, 'hello from the action');
      return 'ok';
    },
  });
  assert.is((await runAction(chatty, {})).status, 'completed');
  const { logger, lines } = capturedLogger();
  await runAction(chatty, {}, { jobId: 'log-1', attempt: 2, logger });
  assert.equal(
    lines.map((l) => [l.msg, l.jobId, l.attempt, l.worker, l.step]),
    [['hello from the action', 'log-1', 2, 'chatty', 1]],
  );
});

test.run();
