import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from 'fp-ts/lib/Either.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { replay } from '../../src/job/index.js';
import { makeSleeper } from '../fixtures/workers.js';
import { spawnJobtrail } from '../support/cli.js';
import { consumersOf, deleteQueues, privateVhost, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('jobtrail run processes on RabbitMQ');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-rmq-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A store file and a work queue of this test only (on `broker`, default the tests' RabbitMQ); `jobtrail run` processes on them. */
const setup = async (broker = rabbitUrl) => {
  const queue = `test-${randomUUID()}`;
  const store = `sqlite:${join(dir, `${queue}.db`)}`;
  const engine = await createEngine({ store, broker, workers: [makeSleeper(queue)], acceptCommands: false });
  const children: ChildProcess[] = [];
  const start = (...extra: string[]) => {
    const child = spawnJobtrail(['run', '--store', store, '--broker', broker, '--workers', 'test/fixtures/workers.ts', ...extra], {
      env: { JOBTRAIL_TEST_QUEUE: queue },
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    children.push(child);
    return { child, exited: once(child, 'exit'), stderr: () => err };
  };
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await engine.close();
    if (broker === rabbitUrl) await deleteQueues([`jobtrail.work.${queue}`, `jobtrail.work.${queue}.dead`]);
  };
  return { queue, store, engine, start, cleanup };
};

const checkHistories = async (engine: Engine, ids: readonly string[]) => {
  const workers = new Set<string>();
  for (const id of ids) {
    const events = (await engine.history(id)).map((e) => e.event);
    const r = replay(events);
    assert.ok(E.isRight(r), E.isLeft(r) ? `${id}: ${r.left.message}` : '');
    assert.is(events.filter((e) => e.type === 'JobCompleted').length, 1, `${id}: exactly one JobCompleted`);
    for (const e of events) if (e.type === 'JobStarted') workers.add(e.data.workerId);
  }
  return workers;
};

test('two run processes share 1,000 jobs; every job has exactly one JobCompleted', async () => {
  const s = await setup();
  try {
    const a = s.start();
    const b = s.start();
    // Both consume before the work is there: the test is about sharing, not about which starts first.
    await waitFor(async () => (await consumersOf('/', `jobtrail.work.${s.queue}`)) === 2, 60_000, 'both processes to consume');
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) ids.push((await s.engine.enqueue('sleeper', { ms: 2, value: i })).jobId);
    const views = await s.engine.waitForFinal(ids, { timeoutMs: 120_000 });
    assert.ok(
      views.every((v) => v.status === 'completed'),
      'every job completed',
    );
    const workers = await checkHistories(s.engine, ids);
    assert.ok(workers.size >= 2, `both processes ran jobs (workers: ${[...workers].join(', ')})`);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    const [[codeA], [codeB]] = (await Promise.all([a.exited, b.exited])) as [[number | null], [number | null]];
    assert.is(codeA, 0, a.stderr());
    assert.is(codeB, 0, b.stderr());
  } finally {
    await s.cleanup();
  }
});

test('run --recover dispatches jobs recorded but never published; --no-accept-commands leaves jobtrail.enqueue to other processes', async () => {
  // A vhost of its own: jobtrail.enqueue is every process's, and another test run on this RabbitMQ would change its consumers.
  const vhost = await privateVhost();
  const s = await setup(vhost.url);
  try {
    // Recorded, and published only to an in-process broker that ends with its engine: as if the
    // enqueuing process had crashed between the append and the publish.
    const stranded = await createEngine({ store: s.store, broker: 'memory', workers: [makeSleeper(s.queue)], recover: false });
    const ids = (await stranded.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ workerName: 'sleeper', payload: { value: i } })))).map(
      (e) => e.jobId,
    );
    await stranded.close();
    const consumersOfCommands = () => consumersOf(vhost.name, 'jobtrail.enqueue');
    assert.is(await consumersOfCommands(), 0, 'nothing consumes jobtrail.enqueue in the new vhost');

    const runner = s.start('--recover', '--no-accept-commands');
    await waitFor(() => /recovered: 5 dispatched/.test(runner.stderr()), 30_000, `the recovery report (stderr: ${runner.stderr()})`);
    const views = await s.engine.waitForFinal(ids, { timeoutMs: 30_000 });
    assert.ok(
      views.every((v) => v.status === 'completed' && v.attempts === 1),
      'every stranded job ran once',
    );
    await checkHistories(s.engine, ids);
    assert.is(await consumersOfCommands(), 0, 'the runner does not consume jobtrail.enqueue');

    runner.child.kill('SIGTERM');
    const [code] = (await runner.exited) as [number | null];
    assert.is(code, 0, runner.stderr());
  } finally {
    await s.cleanup();
    await vhost.remove();
  }
});

test('a worker process killed with SIGKILL mid-job: the message is redelivered, WorkerLost recorded, the job retried and completed', async () => {
  const s = await setup();
  try {
    const first = s.start();
    const { jobId } = await s.engine.enqueue('sleeper', { ms: 4000, value: 'slow' });
    await waitFor(async () => (await s.engine.getJob(jobId))?.status === 'in_progress', 30_000, 'the slow job to start');
    first.child.kill('SIGKILL');
    await first.exited;
    const second = s.start();
    const [view] = await s.engine.waitForFinal([jobId], { timeoutMs: 60_000 });
    assert.is(view!.status, 'completed');
    assert.is(view!.attempts, 2);
    const events = (await s.engine.history(jobId)).map((e) => e.event);
    assert.equal(
      events.map((e) => e.type),
      ['JobEnqueued', 'JobStarted', 'JobErrored', 'JobReset', 'JobStarted', 'JobCompleted'],
    );
    const lost = events[2]!;
    assert.ok(lost.type === 'JobErrored' && lost.data.error.name === 'WorkerLost');
    await checkHistories(s.engine, [jobId]);
    second.child.kill('SIGTERM');
    await second.exited;
  } finally {
    await s.cleanup();
  }
});

test.run();
