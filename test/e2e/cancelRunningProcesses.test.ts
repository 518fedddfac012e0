// Cancel a running job across processes (issue 22), in both modes: embedded (two `jobtrail run` processes on
// one SQLite file, in-process broker) and RabbitMQ (two `jobtrail run` processes on RabbitMQ, sharing a SQLite
// store). `jobtrail cancel` runs as a third process. The process running the attempt must abort its action's
// signal within a second of the recorded request, and the job ends cancelled; when that process is SIGKILLed
// after the request (its action ignores the signal), the job still ends cancelled (the sweep's or the
// redelivery's WorkerLost path), and is never retried.
import { spawn, type ChildProcess } from 'node:child_process';
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
import { makeCancelProbe } from '../fixtures/cancelWorkers.js';
import { root } from '../support/cli.js';
import { consumersOf, deleteQueues, rabbitUrl } from '../support/rabbit.js';
import { waitFor } from '../support/waitFor.js';

const test = suite('cancel a running job: jobtrail run processes, jobtrail cancel from a third');
const dir = mkdtempSync(join(tmpdir(), 'jobtrail-cancel-processes-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** `jobtrail …` from the sources (tsx): no build needed. */
const spawnCli = (args: readonly string[], env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], {
    cwd: root,
    env: { ...process.env, JOBTRAIL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

interface Probe {
  readonly cancelProbe: string;
  readonly jobId: string;
  readonly pid: number;
  readonly at: number;
  readonly reason?: string;
}
const probes = (stderr: string): Probe[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{"cancelProbe"'))
    .map((l) => JSON.parse(l) as Probe);

type Mode = 'embedded' | 'rabbitmq';

const scenario = async (mode: Mode, kill: boolean): Promise<void> => {
  const queue = `test-cancel-${randomUUID()}`;
  const store = `sqlite:${join(dir, `${queue}.db`)}`;
  const broker = mode === 'rabbitmq' ? rabbitUrl : 'memory';
  const probe = makeCancelProbe(queue);
  const env = {
    JOBTRAIL_STORE: store,
    JOBTRAIL_BROKER: broker,
    JOBTRAIL_WORKERS: 'test/fixtures/cancelWorkers.ts',
    JOBTRAIL_TEST_QUEUE: queue,
  };
  // The test's engine is never started: it enqueues (and, with RabbitMQ, publishes) and reads.
  const engine: Engine = await createEngine({ store, broker, workers: [probe], recover: false, acceptCommands: false });
  const children: { child: ChildProcess; exited: Promise<unknown>; err: () => string }[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const child = spawnCli(['run', ...(mode === 'rabbitmq' ? ['--no-accept-commands'] : [])], env);
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      children.push({ child, exited: once(child, 'exit'), err: () => err });
    }
    await waitFor(() => children.every((c) => /engine started/.test(c.err())), 60_000, 'both processes to start');
    if (mode === 'rabbitmq')
      await waitFor(async () => (await consumersOf('/', `jobtrail.work.${queue}`)) === 2, 30_000, 'both processes to consume');

    const jobId = `cancel-${mode}-${kill ? 'kill' : 'coop'}-${randomUUID()}`;
    await engine.enqueue(probe, { mode: kill ? ('ignores' as const) : ('cooperative' as const) }, { jobId });
    await waitFor(async () => (await engine.getJob(jobId))?.status === 'in_progress', 30_000, 'the attempt to start', 50);
    const running = (await engine.getJob(jobId))!;
    const pid = Number(running.workerId!.split(':')[1]);
    const runner = children.find((c) => c.child.pid === pid);
    assert.ok(runner, `the attempt runs in one of the two processes (${running.workerId})`);
    const other = children.find((c) => c !== runner)!;
    await waitFor(() => probes(runner.err()).some((p) => p.cancelProbe === 'started' && p.jobId === jobId), 10_000, 'the action to start');

    // A third process asks for the cancel.
    const cli = spawnCli(['cancel', jobId, '--by', 'e2e', '--reason', `test ${mode}`], { ...env, JOBTRAIL_LOG_LEVEL: 'warn' });
    let out = '';
    let cliErr = '';
    cli.stdout!.on('data', (d) => (out += d));
    cli.stderr!.on('data', (d) => (cliErr += d));
    const [code] = (await once(cli, 'exit')) as [number | null];
    assert.is(code, 0, cliErr);
    assert.is(out.trim(), `${jobId}: cancel requested (attempt 1 running on ${running.workerId})`);

    // The request is recorded; the process that runs the attempt aborts within a second of it.
    const requestedAt = async () => {
      const e = (await engine.history(jobId)).find((r) => r.event.type === 'JobCancelRequested')?.event;
      return e?.type === 'JobCancelRequested' ? Date.parse(e.data.at) : undefined;
    };
    const asked = await requestedAt();
    assert.ok(asked !== undefined, 'JobCancelRequested is recorded');
    await waitFor(() => probes(runner.err()).some((p) => p.cancelProbe === 'aborted' && p.jobId === jobId), 5_000, 'the abort');
    const aborted = probes(runner.err()).find((p) => p.cancelProbe === 'aborted' && p.jobId === jobId)!;
    const latency = aborted.at - asked!;
    process.stderr.write(`cancelRunningProcesses (${mode}${kill ? ', then SIGKILL' : ''}): aborted ${latency} ms after the request\n`);
    assert.is(aborted.pid, pid, 'aborted in the process that runs it');
    assert.is(aborted.reason, 'cancelled');
    assert.ok(latency < 1_000, `aborted within a second of the request (${latency} ms)`);

    let killedAt: number | undefined;
    if (kill) {
      assert.is((await engine.getJob(jobId))?.status, 'in_progress', 'an action that ignores its signal keeps its attempt running');
      runner.child.kill('SIGKILL');
      await runner.exited;
      killedAt = Date.now();
    }
    // Embedded: the survivor's sweep (every 15 s ± 20 %) finds the killed process; RabbitMQ: the redelivery.
    const [view] = await engine.waitForFinal([jobId], { timeoutMs: kill ? 45_000 : 10_000 });
    if (killedAt !== undefined)
      process.stderr.write(`cancelRunningProcesses (${mode}): cancelled ${Date.now() - killedAt} ms after the kill\n`);
    assert.is(view!.status, 'cancelled', `${runner.err().slice(-2000)}\n${other.err().slice(-2000)}`);
    assert.is(view!.cancelReason, `test ${mode}`);
    assert.is(view!.attempts, 1, 'never retried');
    const events = (await engine.history(jobId)).map((e) => e.event as JobEvent);
    const r = replay(events);
    assert.ok(E.isRight(r), E.isLeft(r) ? r.left.message : '');
    assert.equal(
      events.map((e) => e.type),
      ['JobEnqueued', 'JobStarted', 'JobCancelRequested', 'JobCancelled'],
    );
    const requested = events[2];
    assert.equal(requested?.type === 'JobCancelRequested' ? [requested.data.by, requested.data.reason] : [], ['e2e', `test ${mode}`]);
    assert.ok(!probes(other.err()).some((p) => p.jobId === jobId), 'the other process never ran it');
    assert.is(other.child.exitCode, null, 'the other process still runs');
  } finally {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await engine.close({ gracePeriodMs: 0 });
    if (mode === 'rabbitmq') await deleteQueues([`jobtrail.work.${queue}`, `jobtrail.work.${queue}.dead`]);
  }
};

test('embedded: jobtrail cancel from a third process aborts the running action within a second; the job ends cancelled', () =>
  scenario('embedded', false));
test('embedded: the process running it is SIGKILLed after the request; the job ends cancelled, not retried', () =>
  scenario('embedded', true));
test('RabbitMQ: jobtrail cancel from a third process aborts the running action within a second; the job ends cancelled', () =>
  scenario('rabbitmq', false));
test('RabbitMQ: the process running it is SIGKILLed after the request; the job ends cancelled, not retried', () =>
  scenario('rabbitmq', true));

test.run();
