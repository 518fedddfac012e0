import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine } from '../../src/engine.js';
import { sleeper } from '../fixtures/workers.js';
import { spawnJobtrail } from '../support/cli.js';
import { waitFor } from '../support/waitFor.js';
import { readyTestStore, testStoreLabel, testStoreUrl } from '../support/testStore.js';

const test = suite<{ engine: Engine; store: string }>(
  `graceful shutdown of jobtrail run (SIGTERM, grace period, forced exit; ${testStoreLabel})`,
);
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-shutdown-'));
let n = 0;
test.before(readyTestStore);
test.before.each(async (ctx) => {
  ctx.store = testStoreUrl(dir, `events-${++n}.db`);
  ctx.engine = await createEngine({ store: ctx.store, workers: [sleeper] });
});
test.after.each(async (ctx) => ctx.engine.close());
test.after(() => rmSync(dir, { recursive: true, force: true }));

const start = (store: string, graceMs: number) => {
  const child = spawnJobtrail(['run', '--store', store, '--workers', 'test/fixtures/workers.ts'], {
    env: { JOBTRAIL_GRACE_MS: String(graceMs) },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>, stderr: () => stderr };
};

test('SIGTERM lets a running action finish within the grace period, then exits 0', async ({ engine, store }) => {
  const { jobId } = await engine.enqueue('sleeper', { ms: 1500, value: 'finished' });
  const run = start(store, 10_000);
  await waitFor(async () => (await engine.getJob(jobId))?.status === 'in_progress', 30_000, 'the job to start');
  run.child.kill('SIGTERM');
  const [code] = await run.exited;
  assert.is(code, 0, run.stderr());
  const view = await engine.getJob(jobId);
  assert.is(view!.status, 'completed');
  assert.is(view!.attempts, 1);
  assert.is(view!.result, 'finished');
});

test('past the grace period the action is aborted, recorded as Interrupted with a retry, and the next process completes it', async ({
  engine,
  store,
}) => {
  const { jobId } = await engine.enqueue('sleeper', { firstAttemptMs: 60_000, ms: 10, value: 'second time' });
  const run = start(store, 300);
  await waitFor(async () => (await engine.getJob(jobId))?.status === 'in_progress', 30_000, 'the job to start');
  const signalled = Date.now();
  run.child.kill('SIGTERM');
  const [code] = await run.exited;
  assert.is(code, 0, run.stderr());
  assert.ok(Date.now() - signalled < 10_000, 'exited soon after the grace period');
  const interrupted = await engine.getJob(jobId);
  assert.is(interrupted!.status, 'errored');
  assert.is(interrupted!.lastError!.name, 'Interrupted');
  assert.type(interrupted!.retryAt, 'string');
  const next = start(store, 5_000);
  try {
    const [view] = await engine.waitForFinal([jobId], { timeoutMs: 30_000 });
    assert.is(view!.status, 'completed');
    assert.is(view!.attempts, 2);
  } finally {
    next.child.kill('SIGTERM');
    await next.exited;
  }
});

test('a second SIGTERM forces exit; the attempt it left is recovered as WorkerLost by the next process', async ({ engine, store }) => {
  const { jobId } = await engine.enqueue('sleeper', { firstAttemptMs: 60_000, ms: 10 });
  const run = start(store, 60_000);
  await waitFor(async () => (await engine.getJob(jobId))?.status === 'in_progress', 30_000, 'the job to start');
  run.child.kill('SIGTERM');
  await waitFor(() => run.stderr().includes('stopping'), 10_000, 'the first SIGTERM to be taken');
  run.child.kill('SIGTERM');
  const [code] = await run.exited;
  assert.is(code, 130, run.stderr());
  assert.is((await engine.getJob(jobId))!.status, 'in_progress');
  const next = start(store, 5_000);
  try {
    const [view] = await engine.waitForFinal([jobId], { timeoutMs: 30_000 });
    assert.is(view!.status, 'completed');
    assert.is(view!.lastError!.name, 'WorkerLost');
  } finally {
    next.child.kill('SIGTERM');
    await next.exited;
  }
});

test.run();
