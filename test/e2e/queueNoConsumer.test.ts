// `jobtrail enqueue` to a queue that no process consumes (docs/queues.md#no-consumer): accepted (exit 0, the job is
// recorded), with a warning on stderr. Embedded: judged from the processes' heartbeats (a SIGKILLed `jobtrail run`
// no longer counts); RabbitMQ: from the work queue's consumer count.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine } from '../../src/engine.js';
import { makeSleeper } from '../fixtures/workers.js';
import { root } from '../support/cli.js';
import { consumersOf, deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('jobtrail enqueue to a queue no process consumes');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-queue-noconsumer-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const jobtrail = (args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', ...args],
      { cwd: root, env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'error', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });

const spawnRun = (
  env: Record<string, string>,
  extra: readonly string[] = [],
): { child: ChildProcess; exited: Promise<unknown>; err: () => string } => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'run', ...extra], {
    cwd: root,
    env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return { child, exited: once(child, 'exit'), err: () => err };
};

const enqueue = async (env: Record<string, string>) => {
  const r = await jobtrail(['enqueue', 'sleeper', '{"value": 1}', '--json'], env);
  assert.is(r.code, 0, r.stderr);
  return { jobId: JSON.parse(r.stdout).jobId as string, stderr: r.stderr };
};

const setup = (mode: 'embedded' | 'rabbitmq') => {
  const queue = `nocons-${mode}-${randomUUID().slice(0, 8)}`;
  const store = `sqlite:${join(dir, `${queue}.db`)}`;
  const env = {
    JOBTRAIL_STORE: store,
    JOBTRAIL_BROKER: mode === 'rabbitmq' ? rabbitUrl : 'memory',
    JOBTRAIL_WORKERS: 'test/fixtures/workers.ts',
    JOBTRAIL_TEST_QUEUE: queue,
  };
  return {
    queue,
    store,
    env,
    warning: new RegExp(`jobtrail: warning: no process consumes queue "${queue}": job \\S+ is recorded and waits`),
  };
};

test('embedded: a warning with no run process, none while one runs, a warning again once it was SIGKILLed', async () => {
  const { queue, store, env, warning } = setup('embedded');
  const engine = await createEngine({ store, workers: [makeSleeper(queue)], recover: false });
  try {
    const first = await enqueue(env);
    assert.match(first.stderr, warning);
    assert.is((await engine.getJob(first.jobId))?.status, 'initial', 'recorded');

    const runner = spawnRun(env);
    await waitFor(() => /engine started/.test(runner.err()), 60_000, 'the run process to start');
    const second = await enqueue(env);
    assert.not.match(second.stderr, /warning/, second.stderr);
    await engine.waitForFinal([first.jobId, second.jobId], { timeoutMs: 20_000 });

    runner.child.kill('SIGKILL');
    await runner.exited;
    const third = await enqueue(env);
    assert.match(third.stderr, warning);
    assert.is((await engine.getJob(third.jobId))?.status, 'initial');
    const listed = await jobtrail(['queue', 'list', '--json'], env);
    const row = (JSON.parse(listed.stdout) as { name: string; noConsumer: boolean }[]).find((q) => q.name === queue);
    assert.is(row?.noConsumer, true, listed.stdout);
  } finally {
    await engine.close();
  }
});

test('RabbitMQ: a warning while the work queue has no consumer, none while a run process consumes it', async () => {
  const { queue, store, env, warning } = setup('rabbitmq');
  const engine = await createEngine({ store, broker: rabbitUrl, workers: [makeSleeper(queue)], recover: false, acceptCommands: false });
  const workQueue = `jobtrail.work.${queue}`;
  let runner: ReturnType<typeof spawnRun> | undefined;
  try {
    const first = await enqueue(env);
    assert.match(first.stderr, warning);
    assert.is((await engine.getJob(first.jobId))?.status, 'initial', 'recorded');
    runner = spawnRun(env, ['--no-accept-commands']);
    await waitFor(async () => (await consumersOf('/', workQueue)) === 1, 60_000, 'the run process to consume');
    const second = await enqueue(env);
    assert.not.match(second.stderr, /warning/, second.stderr);
    const views = await engine.waitForFinal([first.jobId, second.jobId], { timeoutMs: 20_000 });
    assert.ok(views.every((v) => v.status === 'completed'));
  } finally {
    if (runner) {
      runner.child.kill('SIGTERM');
      await runner.exited;
    }
    await engine.close();
    await deleteQueues([workQueue, `${workQueue}.dead`]);
  }
});

test.run();
