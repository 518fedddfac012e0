// Pausing a queue across processes (docs/queues.md), in both modes: two `jobtrail run` processes (from the sources,
// through tsx), on one SQLite file with the in-process broker, and on RabbitMQ. `jobtrail queue pause` (a subprocess)
// → within a second neither process starts a new job of the queue, the running one finishes; enqueues still succeed
// (with the warning) and wait; one process is SIGKILLed while paused and a new one started, which does not consume;
// `jobtrail queue resume` → every job completes once.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, type Engine } from '../../src/engine.js';
import { replay, type JobEvent } from '../../src/job/index.js';
import { makeSleeper } from '../fixtures/workers.js';
import { root } from '../support/cli.js';
import { consumersOf, deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { observeFor, waitFor } from '../support/waitFor.js';

const test = suite('pausing a queue: jobtrail run processes, one SIGKILLed while paused');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-queue-pause-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const jobtrail = (args: readonly string[], env: Record<string, string>): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', ...args],
      { cwd: root, env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });

interface Runner {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  readonly err: () => string;
  /** The JSON log lines it wrote with this message, as parsed. */
  readonly logged: (msg: string) => { time: number; queue?: string }[];
}

const spawnRun = (env: Record<string, string>, extra: readonly string[]): Runner => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'run', ...extra], {
    cwd: root,
    env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', () => undefined);
  const logged = (msg: string) =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; time: number; queue?: string };
        } catch {
          return { time: 0 };
        }
      })
      .filter((l) => l.msg === msg);
  return { child, exited: once(child, 'exit'), err: () => err, logged };
};

const startedAt = (events: readonly JobEvent[]): number[] =>
  events.flatMap((e) => (e.type === 'JobStarted' ? [Date.parse(e.data.startedAt)] : []));

const scenario = async (mode: 'embedded' | 'rabbitmq') => {
  const queue = `pause-${mode}-${randomUUID().slice(0, 8)}`;
  const store = `sqlite:${join(dir, `${queue}.db`)}`;
  const broker = mode === 'rabbitmq' ? rabbitUrl : 'memory';
  const env = { JOBTRAIL_STORE: store, JOBTRAIL_BROKER: broker, JOBTRAIL_WORKERS: 'test/fixtures/workers.ts', JOBTRAIL_TEST_QUEUE: queue };
  const runArgs = mode === 'rabbitmq' ? ['--no-accept-commands'] : [];
  const sleeper = makeSleeper(queue);
  // The test's engine is never started: it enqueues (in the embedded mode the run processes see the jobs in the store) and reads.
  const engine: Engine = await createEngine({ store, broker, workers: [sleeper], recover: false, acceptCommands: false });
  const runners: Runner[] = [];
  const start = () => {
    const r = spawnRun(env, runArgs);
    runners.push(r);
    return r;
  };
  const workQueue = `jobtrail.work.${queue}`;
  try {
    const a = start();
    const b = start();
    await waitFor(() => runners.every((r) => /engine started/.test(r.err())), 60_000, 'both processes to start');
    if (mode === 'rabbitmq') await waitFor(async () => (await consumersOf('/', workQueue)) === 2, 20_000, 'both to consume');

    // A job that runs while the pause comes: it must finish.
    const running = await engine.enqueue(sleeper, { ms: 3_000, value: 'long' });
    await waitFor(async () => (await engine.getJob(running.jobId))?.status === 'in_progress', 20_000, 'the long job to start', 50);

    const paused = await jobtrail(['queue', 'pause', queue, '--by', 'ops', '--reason', 'e2e pause', '--json'], env);
    assert.is(paused.code, 0, paused.stderr);
    const change = JSON.parse(paused.stdout) as { changed: boolean; control: { changedAt: string; by: string; reason: string } };
    assert.is(change.changed, true);
    assert.equal([change.control.by, change.control.reason], ['ops', 'e2e pause']);
    const pausedAt = Date.parse(change.control.changedAt);
    // Each process says when it stopped taking work: within a second of the pause.
    await waitFor(() => [a, b].every((r) => r.logged('queue paused: stopped taking work from it').length === 1), 5_000, 'both to stop');
    const lags = [a, b].map((r) => r.logged('queue paused: stopped taking work from it')[0]!.time - pausedAt);
    assert.ok(
      lags.every((ms) => ms < 1_000),
      `stopped within a second of the pause: ${lags.join(', ')} ms`,
    );
    if (mode === 'rabbitmq') await waitFor(async () => (await consumersOf('/', workQueue)) === 0, 5_000, 'RabbitMQ to show no consumer');
    assert.is(paused.stderr.includes('warning'), false);
    const again = await jobtrail(['queue', 'pause', queue, '--json'], env);
    assert.is(JSON.parse(again.stdout).changed, false, 'pausing a paused queue records nothing');

    // Enqueues still succeed, from the CLI (with the warning on stderr, exit 0) and the library, and wait.
    const viaCli = await jobtrail(['enqueue', 'sleeper', '{"ms": 50, "value": "cli"}', '--json'], env);
    assert.is(viaCli.code, 0, viaCli.stderr);
    assert.match(viaCli.stderr, `jobtrail: warning: queue "${queue}" is paused by ops`);
    const ids = [JSON.parse(viaCli.stdout).jobId as string];
    for (let i = 0; i < 5; i++) {
      const r = await engine.enqueue(sleeper, { ms: 50, value: i });
      assert.match(r.warnings?.[0] ?? '', /is paused/);
      ids.push(r.jobId);
    }
    const [long] = await engine.waitForFinal([running.jobId], { timeoutMs: 20_000 });
    assert.is(long!.status, 'completed', 'the running job finished');
    assert.is(long!.attempts, 1, 'and was not interrupted');

    // One process is killed while paused; a new one starts, sees the pause first and does not consume.
    a.child.kill('SIGKILL');
    await a.exited;
    const c = start();
    await waitFor(() => /engine started/.test(c.err()), 60_000, 'the new process to start');
    assert.is(c.logged('queue is paused: not consuming it').length, 1, c.err());
    if (mode === 'rabbitmq') assert.is(await consumersOf('/', workQueue), 0, 'nothing consumes the paused queue');
    await observeFor(1_500);
    for (const id of ids) assert.is((await engine.getJob(id))?.status, 'initial', `${id} waits while paused`);
    const listed = await jobtrail(['queue', 'list', '--json'], env);
    assert.is(listed.code, 0, listed.stderr);
    const row = (JSON.parse(listed.stdout) as { name: string; paused: boolean; consumers?: number; pausedBy?: string }[]).find(
      (q) => q.name === queue,
    );
    assert.equal([row?.paused, row?.pausedBy, row?.consumers], [true, 'ops', 0]);
    if (mode === 'rabbitmq') assert.is((row as { depth?: number }).depth, ids.length, 'the jobs wait in RabbitMQ');

    const resumed = await jobtrail(['queue', 'resume', queue, '--by', 'ops', '--json'], env);
    assert.is(resumed.code, 0, resumed.stderr);
    const resumeChange = JSON.parse(resumed.stdout) as { changed: boolean; paused: boolean; control: { changedAt: string; by: string } };
    assert.equal([resumeChange.changed, resumeChange.paused, resumeChange.control.by], [true, false, 'ops']);
    const resumedAt = Date.parse(resumeChange.control.changedAt);
    const views = await engine.waitForFinal(ids, { timeoutMs: 30_000 });
    assert.ok(
      views.every((v) => v.status === 'completed'),
      JSON.stringify(views.map((v) => v.status)),
    );

    // Every job accounted for: one JobCompleted each, valid histories, no job of the queue started while it was paused.
    for (const id of [running.jobId, ...ids]) {
      const events = (await engine.history(id)).map((e) => e.event);
      const r = replay(events);
      assert.ok(E.isRight(r), E.isLeft(r) ? `${id}: ${r.left.message}` : '');
      assert.is(events.filter((e) => e.type === 'JobCompleted').length, 1, `${id}: exactly one JobCompleted`);
      if (id !== running.jobId)
        for (const t of startedAt(events)) assert.ok(t >= resumedAt, `${id} started only after the resume (${new Date(t).toISOString()})`);
    }
    const workers = new Set(
      (await Promise.all(ids.map((id) => engine.getJob(id)))).map((v) => v?.workerId?.split(':')[1]).filter((p) => p !== undefined),
    );
    assert.ok(!workers.has(String(a.child.pid)), 'the killed process ran none of them');
    process.stderr.write(`queuePauseProcesses (${mode}): processes stopped ${lags.join(' and ')} ms after the pause\n`);
  } finally {
    for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await Promise.all(runners.map((r) => r.exited));
    await engine.close();
    if (mode === 'rabbitmq') await deleteQueues([workQueue, `${workQueue}.dead`]);
  }
};

test('embedded: one SQLite file, the in-process broker', () => scenario('embedded'));
test('RabbitMQ', () => scenario('rabbitmq'));

test.run();
